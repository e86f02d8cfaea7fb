"""Which models a DL1 file gets, and the checks before any DL2 is written.

What ``sst1m-dl1-dl2`` decides before its loop, as plain functions:

* `check_dl1_file`: the input is a ctapipe DL1 file (HDF5, instrument, trigger and parameter
  tables), and which telescopes' parameter tables are missing (`missing_parameter_tables`;
  the tools warn and name them, the telescope gets no prediction);
* `choose_models`: the model node nearest to the file's pointing (and NSB level), mono or
  stereo models (stereo needs a valid ``HillasReconstructor`` geometry in the file);
* `load_models`: each model file's hash is checked against ``models.json`` before it is
  unpickled (`~ctapipe_sst1m.reco.metadata.load_model`), and MC models keyed by MC telescopes
  1/2 are aliased onto data telescopes 21/22 (`alias_telescopes`);
* `check_features`: every feature of every model can be computed from the file.

Library errors are `~ctapipe_sst1m.core.SST1MInputError` subclasses: one line naming the file
and the fix.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tables
from ctapipe.core import Provenance
from ctapipe.instrument import SubarrayDescription

from ..compat import models_of
from ..config.processing import warn_if_differs
from ..core import SST1MInputError
from ..io.datamodel import (
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_PARAMETERS_GROUP,
    DL2_SUBARRAY_GEOMETRY_GROUP,
    INSTRUMENT_LAYOUT_TABLE,
    tel_path,
)
from .metadata import load_model, read_models_json
from .model_bank import NoModelNodeError, discover_nodes, file_pointing

__all__ = [
    "CHUNK_CACHE_SIZE",
    "KINDS",
    "ModelChoice",
    "alias_telescopes",
    "check_dl1_file",
    "check_features",
    "choose_models",
    "has_stereo_features",
    "load_models",
    "missing_parameter_tables",
    "open_dl1_file",
    "prepare_models",
    "warn_missing_tables",
]

#: order in which the models of a mode are applied (later ones may use earlier predictions)
KINDS = ("energy", "disp", "classifier")
#: HDF5 chunk cache per dataset of the files read and written chunk by chunk. PyTables' default
#: (16 MiB per open dataset) fills as a long file is walked and made the resident memory of
#: sst1m-dl1-dl2 grow with the file (+154 MB from 10^5 to 4·10^5 events); the tables are read
#: and appended sequentially in blocks much larger than one HDF5 chunk, so a small cache costs
#: nothing.
CHUNK_CACHE_SIZE = 1 << 20
#: stereo geometry whose features the stereo models use
STEREO_GEOMETRY = f"{DL2_SUBARRAY_GEOMETRY_GROUP}/HillasReconstructor"


def open_dl1_file(path):
    """Open a DL1 HDF5 file read-only; `SST1MInputError` if it is not a readable HDF5 file."""
    path = Path(path)
    fix = "give a DL1 file written by sst1m-r0-dl1, sst1m-simulate or sst1m-dl1-stereo"
    if not path.is_file():
        raise SST1MInputError(f"{path}: no such file; check the input path")
    if path.stat().st_size == 0:
        raise SST1MInputError(f"{path}: empty file (0 bytes); {fix}")
    try:
        if not tables.is_hdf5_file(str(path)):
            raise SST1MInputError(f"{path}: not an HDF5 file; {fix}")
        return tables.open_file(path, mode="r", chunk_cache_size=CHUNK_CACHE_SIZE)
    except (tables.HDF5ExtError, OSError):
        raise SST1MInputError(f"{path}: damaged or truncated HDF5 file; {fix}") from None


def check_dl1_file(h5file, source):
    """Refuse a file without the instrument, trigger or DL1 parameter tables (one line)."""
    required = (
        ("instrument description", INSTRUMENT_LAYOUT_TABLE),
        ("subarray trigger table", DL1_SUBARRAY_TRIGGER_TABLE),
        ("DL1 parameter tables", DL1_TEL_PARAMETERS_GROUP),
    )
    for what, node in required:
        if node not in h5file:
            raise SST1MInputError(
                f"{source}: no {what} ({node}); not a ctapipe DL1 file, give the output of"
                " sst1m-r0-dl1, sst1m-simulate or sst1m-dl1-stereo"
            )


def missing_parameter_tables(h5file, subarray):
    """``{tel_id: path}`` of telescopes that triggered but have no DL1 parameter table."""
    trigger = h5file.get_node(DL1_SUBARRAY_TRIGGER_TABLE)
    triggered = np.zeros(subarray.n_tels, dtype=bool)
    step = 1_000_000
    for start in range(0, trigger.nrows, step):
        block = trigger.read(start, start + step, field="tels_with_trigger")
        triggered |= np.asarray(block, dtype=bool).any(axis=0)
    missing = {}
    for index, tel_id in enumerate(subarray.tel_ids):
        path = tel_path(DL1_TEL_PARAMETERS_GROUP, tel_id)
        if triggered[index] and path not in h5file:
            missing[int(tel_id)] = path
    return missing


def warn_missing_tables(h5file, subarray, source, log, consequence="get no DL2 predictions"):
    """Log one warning per telescope of `missing_parameter_tables` and return them.

    The one behaviour of the tools reading DL1: a triggered telescope without parameter table
    is skipped (its events ``consequence``), and the warning names it and the missing table.
    """
    missing = missing_parameter_tables(h5file, subarray)
    for tel_id, path in missing.items():
        log.warning(
            "%s: tel %d triggered but has no DL1 parameter table (%s): its events %s",
            source,
            tel_id,
            path,
            consequence,
        )
    return missing


def has_stereo_features(h5file):
    """True if the file has a HillasReconstructor geometry table with a valid event."""
    if STEREO_GEOMETRY not in h5file:
        return False
    table = h5file.get_node(STEREO_GEOMETRY)
    step = 10_000  # stop at the first valid event instead of reading the whole column
    for start in range(0, table.nrows, step):
        if np.any(table.read(start, start + step, field="HillasReconstructor_is_valid")):
            return True
    return False


@dataclass
class ModelChoice:
    """The node, mode and ``models.json`` entries chosen for a file."""

    node: object
    meta: dict
    mode: str
    entries: list

    def paths(self):
        """Model file of each entry."""
        return [self.node.path / entry["file"] for entry in self.entries]


def choose_models(h5file, source, model_dir, mode, nsb_level, selector):
    """The `ModelChoice` for the open DL1 file ``h5file`` (``source`` names it in errors).

    ``mode`` is ``auto`` (stereo if the file has stereo features and the node stereo models),
    ``mono`` or ``stereo``; ``selector`` is the `~ctapipe_sst1m.reco.model_bank.NodeSelector`.
    """
    zenith, azimuth = file_pointing(h5file)
    stereo_in_file = has_stereo_features(h5file)
    nodes = discover_nodes(model_dir)
    if zenith is None:
        if len(nodes) > 1:
            raise NoModelNodeError(
                f"{source}: no pointing stored, cannot choose among {len(nodes)} model nodes;"
                " pass a single model directory"
            )
        node = nodes[0]
    else:
        node = selector.select(nodes, zenith, azimuth, nsb_level, source=str(source))
    meta = read_models_json(node.path)
    available = meta.get("modes", {})
    if mode == "auto":
        mode = "stereo" if stereo_in_file and "stereo" in available else "mono"
    if mode == "stereo" and not stereo_in_file:
        raise SST1MInputError(
            f"{source}: stereo features (HillasReconstructor) missing; match the telescopes"
            " with sst1m-dl1-stereo first or use --mode mono"
        )
    if mode not in available:
        raise SST1MInputError(
            f"{node.path}: no {mode} models; train them with sst1m-train-models --modes {mode}"
        )
    entries = [available[mode][kind] for kind in KINDS if kind in available[mode]]
    for entry in entries:
        if not entry.get("sha256") or not entry.get("file"):
            raise SST1MInputError(
                f"{node.path / 'models.json'}: a {mode} model has no file name or SHA-256;"
                " a model is only loaded if its hash is recorded; retrain the models"
            )
    return ModelChoice(node, meta, mode, entries)


def alias_telescopes(reco, subarray, telescope_map, log):
    """Use models of training telescopes for the telescopes of ``subarray`` that have none.

    ``telescope_map`` maps a file telescope id to the id of the training telescope whose model
    it uses (e.g. ``{21: 1, 22: 2}``); telescopes whose description has a model keep theirs.
    """
    models = models_of(reco)
    training = reco.subarray
    for tel_id in subarray.tel_ids:
        desc = subarray.tel[tel_id]
        if desc in models:
            continue
        mc_id = int(telescope_map.get(tel_id, telescope_map.get(str(tel_id), -1)))
        if mc_id in training.tel and training.tel[mc_id] in models:
            models[desc] = models[training.tel[mc_id]]
            log.info("tel %d uses the %s model of MC tel %d", tel_id, reco.prefix, mc_id)
        else:
            log.warning("no %s model for tel %d (map: %s)", reco.prefix, tel_id, mc_id)
    reco.subarray = subarray


def load_models(choice, subarray, telescope_map, parent, n_jobs=None):
    """Reconstructors of ``choice`` (hash checked before unpickling), aliased to ``subarray``."""
    reconstructors = []
    for path, entry in zip(choice.paths(), choice.entries, strict=True):
        reco = load_model(path, expected_sha256=entry["sha256"], parent=parent)
        # the hash in the provenance log says exactly which model made the DL2
        role = f"{entry.get('class', type(reco).__name__)} model sha256:{entry['sha256']}"
        Provenance().add_input_file(str(path), role=role, add_meta=False)
        alias_telescopes(reco, subarray, telescope_map, parent.log)
        if n_jobs:
            reco.n_jobs = n_jobs
        reconstructors.append(reco)
    return reconstructors


def prepare_models(
    h5file, source, model_dir, mode, nsb_level, selector, telescope_map, parent, n_jobs=None
):
    """Check the open DL1 file, choose its models and load them: ``(choice, recos, subarray)``.

    The DL1 file is checked (`check_dl1_file`, missing parameter tables named in a warning),
    the node and mode chosen (`choose_models`), a one-line warning logged when the file's
    processing record differs from the training data's (`config.processing.warn_if_differs`),
    and the models loaded with their hashes checked
    (`load_models` with ``n_jobs``; ``parent`` is the Tool, whose log is used), so that a bad
    model stops the run before anything is written.
    """
    check_dl1_file(h5file, source)
    subarray = SubarrayDescription.from_hdf(h5file)
    warn_missing_tables(h5file, subarray, source, parent.log)
    choice = choose_models(h5file, source, model_dir, mode, nsb_level, selector)
    parent.log.info("using %s models of node %s", choice.mode, choice.node.as_dict())
    # one-line warning if extraction, cleaning or NSB bin differ from the training data's
    models = choice.node.path
    warn_if_differs(parent.log, h5file, models, source, models, telescope_map)
    recos = load_models(choice, subarray, telescope_map, parent, n_jobs)
    return choice, recos, subarray


def check_features(reconstructors, choice, chunk, subarray, source):
    """Refuse models whose features the file cannot provide (first rows of ``chunk``)."""
    first = next((t for t, tab in chunk.tel_tables.items() if len(tab)), None)
    if first is None:
        return
    table = chunk.tel_tables[first][:100]
    for reco, path in zip(reconstructors, choice.paths(), strict=True):
        generated = {name for name, _ in reco.feature_generator.features}
        missing = [f for f in reco.features if f not in table.colnames and f not in generated]
        if missing:
            raise SST1MInputError(
                f"{source}: features {missing} needed by {path} are not in the file; the models"
                " were trained on other features (retrain, or use matching models / --mode)"
            )
        # generated features apply prediction columns of earlier models: add them
        for prediction in reco.predict_table(subarray.tel[first], table).values():
            for name in prediction.colnames:
                table[name] = prediction[name]

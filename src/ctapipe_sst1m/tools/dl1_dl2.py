"""sst1m-dl1-dl2: apply SST-1M models to a DL1 file (mono or stereo) and write ctapipe DL2.

The output is what stock ``ctapipe-apply-models`` writes (the input copied, the same DL2
tables, readable by ``TableLoader``), produced by the table-level path of
:mod:`ctapipe_sst1m.reco.apply` (large chunks, array indexing instead of joins, input tables
copied as compressed chunks), plus what SST-1M needs around it:

* the model node nearest to the file's pointing (and NSB level) is picked from a model bank,
* mono or stereo models are chosen from the file (stereo needs HillasReconstructor features),
* MC-trained models keyed by MC telescopes 1/2 are used for data telescopes 21/22 through
  ``telescope_map`` (by default ``{21: 1, 22: 2}``) when descriptions differ,
* models are checked (scikit-learn version, SHA-256, features present in the file),
* RA/Dec of the stereo direction for observed data (``/dl2/event/subarray/sky/<prefix>``),
* provenance: model paths, hashes and node are stored in ``/dl2/sst1m_models`` and the
  provenance log; the output appears atomically.
"""

import json
from pathlib import Path

import numpy as np
import tables
from astropy.table import Table
from astropy.time import Time
from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import CaselessStrEnum, Dict, Float, Int, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import write_table
from ctapipe.tools.apply_models import ApplyModels
from tqdm.auto import tqdm

from ..core import PendingOutput, reject_extra_arguments
from ..io.hdf5_copy import ChunkCopyHDF5Merger
from ..reco.apply import ChunkPredictor, DL1ChunkReader, columns_used, match_events
from ..reco.metadata import IncompatibleModelError, load_model, read_models_json
from ..reco.model_bank import NodeSelector, NoModelNodeError, discover_nodes, file_pointing
from ..reco.sky import horizontal_to_icrs

__all__ = ["DL1ToDL2Tool", "main", "has_stereo_features"]

STEREO_GEOMETRY = "/dl2/event/subarray/geometry/HillasReconstructor"
GEOMETRY_PREFIX = "/dl2/event/subarray/geometry/"


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


class DL1ToDL2Tool(ApplyModels):
    """Apply SST-1M energy, disp and gamma/hadron models (mono or stereo) to a DL1 file."""

    name = "sst1m-dl1-dl2"
    description = __doc__
    examples = """
    sst1m-dl1-dl2 -i run.dl1.h5 -m models/ -o run.dl2.h5             # mode from file + models
    sst1m-dl1-dl2 -i run.dl1.h5 -m model_bank/ -o run.dl2.h5 --mode mono --nsb 1.5
    """

    model_dir = PathTrait(
        default_value=None,
        allow_none=True,
        exists=True,
        directory_ok=True,
        file_ok=False,
        help="Model directory written by sst1m-train-models, or a bank of such directories.",
    ).tag(config=True)
    mode = CaselessStrEnum(
        ["auto", "mono", "stereo"],
        default_value="auto",
        help="Which models to apply; auto = stereo if the file has stereo features and the"
        " models include stereo ones, else mono.",
    ).tag(config=True)
    nsb_level = Float(
        None, allow_none=True, help="NSB level of the observation used to choose the node."
    ).tag(config=True)
    telescope_map = Dict(
        default_value={21: 1, 22: 2},
        help="Telescope id in the file -> telescope id of the training MC whose model it uses,"
        " applied when the file's telescope description has no model of its own.",
    ).tag(config=True)

    compression_type = CaselessStrEnum(
        ["blosc:zstd", "blosc:lz4", "blosc:blosclz", "zlib"],
        default_value="blosc:lz4",
        help="Compression of the DL2 tables written (the copied input keeps its own).",
    ).tag(config=True)
    compression_level = Int(
        1,
        min=0,
        max=9,
        help="Compression level of the DL2 tables. With blosc:lz4 levels 1 to 9 write at about"
        " the same speed (higher: slightly smaller tables); with blosc:zstd level 1 writes about"
        " four times faster than ctapipe's default 5 for tables about 10 % larger.",
    ).tag(config=True)

    aliases = {
        **ApplyModels.aliases,
        ("m", "models"): "DL1ToDL2Tool.model_dir",
        "mode": "DL1ToDL2Tool.mode",
        "nsb": "DL1ToDL2Tool.nsb_level",
        ("c", "config"): "Tool.config_files",
    }
    # stock ApplyModels wires --progress/--no-progress to ProcessorTool.progress_bar, a trait
    # of another tool, so the flag never reaches it (ctapipe 0.32); ours sets our own trait
    flags = {
        **ApplyModels.flags,
        **flag(
            "progress",
            "DL1ToDL2Tool.progress_bar",
            "show a progress bar while applying the models",
            "don't show a progress bar",
        ),
    }
    classes = ApplyModels.classes + [NodeSelector]

    def setup(self):
        reject_extra_arguments(self)
        if self.input_url is None or self.output_path is None or self.model_dir is None:
            raise ToolConfigurationError("give -i DL1 -m MODEL_DIR -o DL2")
        self.final_output = Path(self.output_path)
        self.check_output(self.final_output)
        self.input_file = self.enter_context(tables.open_file(self.input_url, mode="r"))
        self.subarray = SubarrayDescription.from_hdf(self.input_file)
        try:
            self._select_models()
            # models first: a bad model stops the run before anything is written
            self._reconstructors = [self._load(entry) for entry in self.entries]
        except (NoModelNodeError, IncompatibleModelError, FileNotFoundError) as err:
            self.log.critical(str(err))
            self.exit(1)
        # stock machinery writes into a temporary file that replaces the target at the end;
        # check_output above already decided about overwriting, a failure removes the file
        self._output = self.enter_context(PendingOutput(self.final_output, overwrite=True))
        self.output_path = self._output.path
        with ChunkCopyHDF5Merger(self.output_path, parent=self) as merger:
            merger(self.input_file)
        self.h5file = self.enter_context(tables.open_file(self.output_path, mode="r+"))
        self.reader = DL1ChunkReader(
            self.input_file,
            self.subarray,
            self.chunk_size or 100_000,
            columns=columns_used(self._reconstructors),
        )
        self.predictor = ChunkPredictor(self._reconstructors, self.subarray, self.log)
        self._created = set()
        self._filters = tables.Filters(
            complevel=self.compression_level,
            complib=self.compression_type,
            fletcher32=True,
        )
        self._check_features()

    def _select_models(self):
        f = self.input_file
        zenith, azimuth = file_pointing(f)
        stereo_in_file = has_stereo_features(f)
        self.is_simulation = "/simulation" in f
        nodes = discover_nodes(self.model_dir)
        if zenith is None:
            if len(nodes) > 1:
                raise NoModelNodeError(
                    f"{self.input_url}: no pointing stored, cannot choose among"
                    f" {len(nodes)} model nodes; pass a single model directory"
                )
            self.node = nodes[0]
        else:
            self.node = NodeSelector(parent=self).select(
                nodes, zenith, azimuth, self.nsb_level, source=str(self.input_url)
            )
        self.meta = read_models_json(self.node.path)
        available = self.meta.get("modes", {})
        mode = self.mode
        if mode == "auto":
            mode = "stereo" if stereo_in_file and "stereo" in available else "mono"
        if mode == "stereo" and not stereo_in_file:
            raise FileNotFoundError(
                f"{self.input_url}: stereo features (HillasReconstructor) missing; match the"
                " telescopes with sst1m-dl1-stereo first or use --mode mono"
            )
        if mode not in available:
            raise FileNotFoundError(
                f"{self.node.path}: no {mode} models; train them with sst1m-train-models"
                f" --modes {mode}"
            )
        self.selected_mode = mode
        order = ("energy", "disp", "classifier")
        self.entries = [available[mode][k] for k in order if k in available[mode]]
        self.log.info(
            "using %s models of node %s (zenith %s°, azimuth %s°, nsb %s)",
            mode,
            self.node.path,
            self.node.zenith_deg,
            self.node.azimuth_deg,
            self.node.nsb,
        )

    def _load(self, entry):
        path = self.node.path / entry["file"]
        reco = load_model(path, expected_sha256=entry.get("sha256"), parent=self)
        self._map_telescopes(reco)
        if self.n_jobs:
            reco.n_jobs = self.n_jobs
        Provenance().add_input_file(str(path), role=f"{entry['class']} model", add_meta=False)
        return reco

    def _map_telescopes(self, reco):
        """Alias models of training telescopes onto the file's telescope descriptions."""
        training = reco.subarray
        target = self.subarray
        for tel_id in target.tel_ids:
            desc = target.tel[tel_id]
            if desc in reco._models:
                continue
            mc_id = int(self.telescope_map.get(tel_id, self.telescope_map.get(str(tel_id), -1)))
            if mc_id in training.tel and training.tel[mc_id] in reco._models:
                reco._models[desc] = reco._models[training.tel[mc_id]]
                self.log.info("tel %d uses the %s model of MC tel %d", tel_id, reco.prefix, mc_id)
            else:
                self.log.warning("no %s model for tel %d (map: %s)", reco.prefix, tel_id, mc_id)
        reco.subarray = target

    def _check_features(self):
        """Refuse models whose features the file cannot provide (one-line error)."""
        chunk = self.reader.first(1000)
        first = next((t for t, tab in chunk.tel_tables.items() if len(tab)), None)
        if first is None:
            return
        table = chunk.tel_tables[first][:100]
        for reco, entry in zip(self._reconstructors, self.entries, strict=True):
            generated = {name for name, _ in reco.feature_generator.features}
            missing = [f for f in reco.features if f not in table.colnames and f not in generated]
            if missing:
                self.log.critical(
                    "%s: features %s needed by %s are not in the file; the models were trained"
                    " on other features (retrain, or use matching models / --mode)",
                    self.input_url,
                    missing,
                    self.node.path / entry["file"],
                )
                self.exit(1)
            # generated features apply prediction columns of earlier models: add them
            for prediction in reco.predict_table(self.subarray.tel[first], table).values():
                for name in prediction.colnames:
                    table[name] = prediction[name]

    def start(self):
        """Apply the models chunk by chunk and append the DL2 tables to the output."""
        bar = tqdm(
            total=self.reader.n_events,
            desc="Applying models",
            unit=" array events",
            disable=not self.progress_bar,
        )
        with bar:
            for chunk in self.reader:
                for path, table in self.predictor.predict(chunk):
                    self._append(path, table)
                    if not self.is_simulation and path.startswith(GEOMETRY_PREFIX):
                        self._write_radec(chunk, path, table)
                bar.update(chunk.stop - chunk.start)

    def finish(self):
        self._write_model_info()
        self.h5file.close()
        self._output.commit()
        Provenance().add_output_file(str(self.final_output), role="DL2")
        self.log.info("DL2 written to %s (%s mode)", self.final_output, self.selected_mode)

    def _write_model_info(self):
        rows = [
            {
                "kind": kind,
                "path": str(self.node.path / entry["file"]),
                "sha256": entry["sha256"],
                "prefix": entry["prefix"],
            }
            for kind, entry in zip(("energy", "disp", "classifier"), self.entries, strict=False)
        ]
        table = Table(rows=rows)
        table.meta["mode"] = self.selected_mode
        table.meta["node"] = json.dumps(self.node.as_dict())
        table.meta["config"] = json.dumps(self.get_current_config(), default=str)
        table.meta["sklearn_version"] = self.meta["sklearn_version"]
        write_table(table, self.h5file, "/dl2/sst1m_models", overwrite=True)

    def _write_radec(self, chunk, path, geometry):
        """RA/Dec of a chunk of combined directions (``/dl2/event/subarray/sky/<prefix>``)."""
        prefix = path.rsplit("/", 1)[-1]
        rows = match_events(
            geometry["obs_id"],
            geometry["event_id"],
            chunk.events["obs_id"],
            chunk.events["event_id"],
        )
        ra, dec = horizontal_to_icrs(
            geometry[f"{prefix}_alt"],
            geometry[f"{prefix}_az"],
            chunk.events["time"][rows],
            self.subarray.reference_location,
        )
        sky = Table(
            {
                "obs_id": geometry["obs_id"],
                "event_id": geometry["event_id"],
                f"{prefix}_ra": ra,
                f"{prefix}_dec": dec,
            }
        )
        self._append(f"/dl2/event/subarray/sky/{prefix}", sky)

    def _append(self, path, table):
        """Append the rows of ``table`` to ``path``.

        ctapipe's ``write_table`` creates the table (units, descriptions, metadata as
        attributes); later chunks, whose columns are the same, are appended as plain rows
        instead of rewriting every attribute each time.
        """
        plain = not any(isinstance(c, Time) or c.dtype.kind == "U" for c in table.itercols())
        if path in self._created and plain:
            self.h5file.get_node(path).append(table.as_array())
        else:
            write_table(table, self.h5file, path, append=True, filters=self._filters)
            self._created.add(path)


def main():
    DL1ToDL2Tool().run()


if __name__ == "__main__":
    main()

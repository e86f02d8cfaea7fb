"""The processing configuration a product was made with: record it, read it back, compare.

Data and MC must be processed with the same charge integration and image cleaning, and the
models/IRFs used for a night should come from MC of the same NSB bin. Every product therefore
carries a **processing record**, a JSON-serialisable dictionary::

    {
      "ctapipe_sst1m_version": "0.1.0",
      "telescopes": {                       # per telescope id (a string, as JSON keys are)
        "21": {
          "image_extractor": "LocalPeakWindowSum",
          "LocalPeakWindowSum.window_width": 7, "LocalPeakWindowSum.window_shift": 3, ...,
          "image_cleaner": "ImageCleanerSST",
          "ImageCleanerSST.cleaning_sets": [...], ...,
          "nsb_bin": "med"                  # NSB-rate bin of the run (data; None if unknown)
        }, ...
      },
      "noise_tuning": {"21": {"ImageModifier.noise_level_dim_pixels": 1.2, ...}}
    }

The ``telescopes`` entries are the *compared* keys (`COMPARED_KEYS`: extraction, cleaning,
NSB bin); ``noise_tuning`` (what ``sst1m-tune-nsb`` added to the MC) is kept for information
and never compared, since data never has it.

Where a record lives (`read_processing_record` accepts all of them):

* DL1 files of ``sst1m-r0-dl1``: the attribute ``record`` of the HDF5 node
  `~ctapipe_sst1m.io.datamodel.PROCESSING_RECORD_NODE` (`write_processing_record`);
* DL2 files of ``sst1m-dl1-dl2``: the same node, copied from the DL1 input;
* model directories: the ``processing`` entry of ``models.json`` (the record of the gamma
  training file);
* IRF files of ``sst1m-make-irfs``: the header card ``SST1MPRC`` of every HDU (compact JSON,
  `record_to_card`), the record of the gamma DL2 file;
* a configuration file (YAML/JSON) or a traitlets ``Config`` (`record_from_config`).

The comparison is `differing_keys`; `difference_message` makes the one-line warning that
``sst1m-dl1-dl2``, ``sst1m-dl2-dl3`` and ``sst1m-mc-production`` print.
"""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from traitlets.config import Config

from ..core.errors import SST1MInputError
from ..io.datamodel import PROCESSING_RECORD_NODE
from ..version import __version__

__all__ = [
    "COMPARED_KEYS",
    "IRF_HEADER_CARD",
    "MODELS_JSON_KEY",
    "ProcessingRecordError",
    "copy_processing_record",
    "differing_keys",
    "difference_message",
    "processing_record",
    "read_processing_record",
    "record_from_config",
    "record_of_processor_tool",
    "record_to_card",
    "warn_if_differs",
    "write_processing_record",
]

#: what the ``telescopes`` entries hold, all compared: the extractor (name and options),
#: the cleaner (name and options) and the NSB bin
COMPARED_KEYS = ("image_extractor", "image_cleaner", "nsb_bin")
#: FITS header card of an IRF file holding the compact JSON record
IRF_HEADER_CARD = "SST1MPRC"
#: entry of ``models.json`` holding the record of the training data
MODELS_JSON_KEY = "processing"
#: traits of the extractor and cleaner that say nothing about the result
_IGNORED_TRAITS = {"parent", "config", "log"}


class ProcessingRecordError(SST1MInputError):
    """A stored processing record cannot be read (corrupt JSON, wrong structure)."""


def _plain(value):
    """A JSON-friendly copy of a trait value (quantities as strings, numpy as Python)."""
    if isinstance(value, u.Quantity):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _component_values(component, tel_id):
    """``{"Class.trait": value}`` of a component, telescope parameters resolved for ``tel_id``."""
    name = type(component).__name__
    out = {}
    for trait in sorted(component.class_trait_names(config=True)):
        if trait in _IGNORED_TRAITS:
            continue
        value = getattr(component, trait)
        lookup = getattr(value, "tel", None)
        if lookup is not None:
            try:
                value = lookup[tel_id]
            except KeyError:
                value = None
        out[f"{name}.{trait}"] = _plain(value)
    return out


def processing_record(calibrator, image_processor, tel_ids, nsb_bins=None, waveform_modifier=None):
    """The record of live components (what a tool actually used).

    Parameters
    ----------
    calibrator : ctapipe.calib.CameraCalibrator
    image_processor : ctapipe.image.ImageProcessor
    tel_ids : iterable of int
    nsb_bins : dict or None
        ``{tel_id: NSB-rate label}`` of the run (data), if known.
    waveform_modifier : ctapipe.image.WaveformModifier or None
        The modifier applied to the R1 waveforms (``ProcessorTool.add_nsb_in_waveforms``).
    """
    telescopes, tuning = {}, {}
    for tel_id in sorted(int(t) for t in tel_ids):
        name = calibrator.image_extractor_type.tel[tel_id]
        entry = {"image_extractor": name}
        entry.update(_component_values(calibrator.image_extractors[name], tel_id))
        cleaner = image_processor.clean
        entry["image_cleaner"] = type(cleaner).__name__
        entry.update(_component_values(cleaner, tel_id))
        entry["nsb_bin"] = None if not nsb_bins else nsb_bins.get(tel_id)
        telescopes[str(tel_id)] = entry
        noise = {}
        if image_processor.apply_image_modifier.tel[tel_id]:
            noise.update(_component_values(image_processor.modify, tel_id))
        if waveform_modifier is not None:
            noise.update(_component_values(waveform_modifier, tel_id))
        if noise:
            tuning[str(tel_id)] = noise
    return {
        "ctapipe_sst1m_version": __version__,
        "telescopes": telescopes,
        "noise_tuning": tuning,
    }


def record_of_processor_tool(tool, monitor=None):
    """The record of a finished `ctapipe.tools.process.ProcessorTool` run (``sst1m-r0-dl1``).

    ``monitor`` (a `~ctapipe_sst1m.calib.PedestalMonitor`) gives the NSB bin of each
    telescope at the end of the run.
    """
    tel_ids = tool.event_source.subarray.tel_ids
    bins = {}
    if monitor is not None:
        bins = {tel_id: monitor.nsb_rate(tel_id) for tel_id in monitor.telescopes}
    modifier = tool.waveform_modifier if tool.add_nsb_in_waveforms else None
    return processing_record(tool.calibrate, tool.process_images, tel_ids, bins, modifier)


def record_from_config(config, subarray):
    """The record that a configuration (``Config``, dict or YAML/JSON path) would give."""
    from ctapipe.calib import CameraCalibrator
    from ctapipe.image import ImageProcessor

    from ..core.config import read_config_file

    if isinstance(config, str | Path):
        config = read_config_file(config)
    config = Config(config)
    calibrator = CameraCalibrator(subarray=subarray, config=config)
    processor = ImageProcessor(subarray=subarray, config=config)
    return processing_record(calibrator, processor, subarray.tel_ids)


def write_processing_record(path, record):
    """Store ``record`` in the HDF5 file ``path`` (replacing an earlier one)."""
    where, name = PROCESSING_RECORD_NODE.rsplit("/", 1)
    with tables.open_file(path, mode="a") as h5:
        if PROCESSING_RECORD_NODE in h5.root:
            h5.remove_node(PROCESSING_RECORD_NODE, recursive=True)
        node = h5.create_group(where, name, createparents=True)
        node._v_attrs["record"] = json.dumps(record, sort_keys=True)


def copy_processing_record(source, target):
    """Copy the record of the open ``tables.File`` ``source`` into the open ``target``."""
    record = read_processing_record(source)
    if record is None:
        return None
    where, name = PROCESSING_RECORD_NODE.rsplit("/", 1)
    if PROCESSING_RECORD_NODE in target.root:
        target.remove_node(PROCESSING_RECORD_NODE, recursive=True)
    node = target.create_group(where, name, createparents=True)
    node._v_attrs["record"] = json.dumps(record, sort_keys=True)
    return record


def record_to_card(record):
    """Compact JSON of ``record`` for the IRF header card `IRF_HEADER_CARD`."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _parse(text, source):
    try:
        record = json.loads(text)
    except (TypeError, json.JSONDecodeError) as err:
        raise ProcessingRecordError(
            f"{source}: unreadable processing record ({err}); reprocess the product"
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("telescopes", {}), dict):
        raise ProcessingRecordError(f"{source}: not a processing record; reprocess the product")
    return record


def read_processing_record(source):
    """The processing record of a product, or None if the product has none (older versions).

    ``source`` is an HDF5 file (DL1/DL2; a path or an open ``tables.File``), a model directory
    or its ``models.json``, a FITS IRF file, or an already read ``dict`` (returned unchanged).
    A configuration file is not a record: `record_from_config` makes one (it needs the
    subarray).
    """
    if isinstance(source, dict) or source is None:
        return source
    if isinstance(source, tables.File):  # an open DL1/DL2 file
        if PROCESSING_RECORD_NODE not in source.root:
            return None
        text = source.get_node(PROCESSING_RECORD_NODE)._v_attrs["record"]
        return _parse(text, source.filename)
    path = Path(source)
    if path.is_dir():
        path = path / "models.json"
    if path.name == "models.json":
        if not path.is_file():
            return None
        record = json.loads(path.read_text()).get(MODELS_JSON_KEY)
        return None if record is None else _parse(json.dumps(record), path)
    name = path.name.lower()
    if name.endswith((".fits", ".fits.gz", ".fit")):
        from astropy.io import fits

        with fits.open(path) as hdul:
            for hdu in hdul:
                if IRF_HEADER_CARD in hdu.header:
                    return _parse(hdu.header[IRF_HEADER_CARD], path)
        return None
    with tables.open_file(path, mode="r") as h5:
        if PROCESSING_RECORD_NODE not in h5.root:
            return None
        text = h5.get_node(PROCESSING_RECORD_NODE)._v_attrs["record"]
    return _parse(text, path)


def differing_keys(data, reference, telescope_map=None):
    """Keys whose values differ between the processing of the data and of the reference.

    Parameters
    ----------
    data, reference : dict or path or None
        Processing records, or anything `read_processing_record` reads (a DL1/DL2 file, a
        model directory, an IRF file). The data is what is being analysed, the reference what
        the models or IRFs were made with.
    telescope_map : dict or None
        ``{data tel_id: reference tel_id}`` for references made from MC of other telescope ids
        (e.g. ``{21: 1, 22: 2}``, the default telescope map of ``sst1m-dl1-dl2``); a data
        telescope absent from the map is compared with the same id, then — if the reference
        has a single telescope or all its telescopes agree — with any of them.

    Returns
    -------
    list of str
        Sorted ``"Class.trait"`` / ``"nsb_bin"`` names (one per key, whatever the telescope)
        whose values differ. The ``telescopes`` entries are compared (`COMPARED_KEYS`:
        extractor and its options, cleaner and its options, NSB bin); a key missing on one
        side, an NSB bin unknown on one side and a missing record (``None``) are not differences, so
        products of older versions never warn. ``noise_tuning`` is never compared.
    """
    data = read_processing_record(data)
    reference = read_processing_record(reference)
    if not data or not reference:
        return []
    ref_tels = reference.get("telescopes", {})
    telescope_map = {int(k): int(v) for k, v in (telescope_map or {}).items()}
    keys = set()
    for tel, entry in data.get("telescopes", {}).items():
        ref = ref_tels.get(str(telescope_map.get(int(tel), int(tel))))
        if ref is None:
            ref = ref_tels.get(tel) or (next(iter(ref_tels.values())) if len(ref_tels) else None)
        if ref is None:
            continue
        a, b = entry, ref
        for key in a.keys() & b.keys():
            if a[key] is None or b[key] is None:
                continue
            if a[key] != b[key]:
                keys.add(key)
    return sorted(keys)


def difference_message(data_name, reference_name, keys):
    """One line: ``"<data>: processed differently from <reference> (keys); ..."`` or None."""
    if not keys:
        return None
    return (
        f"{data_name}: processing configuration differs from that of {reference_name}"
        f" ({', '.join(keys)}); process data and MC with the same configuration"
        " (sst1m-dump-config) or choose matching models/IRFs"
    )


def warn_if_differs(log, data, reference, data_name, reference_name, telescope_map=None):
    """Log the one-line `difference_message` (warning) if `differing_keys` finds any.

    The call that ``sst1m-dl1-dl2`` (data vs models), ``sst1m-dl2-dl3`` (data vs IRFs) and
    ``sst1m-mc-production`` make, e.g.
    ``warn_if_differs(self.log, dl1_path, model_dir, dl1_path, model_dir, {21: 1, 22: 2})``.
    Returns the differing keys (empty if none or if a record is missing).
    """
    keys = differing_keys(data, reference, telescope_map)
    message = difference_message(data_name, reference_name, keys)
    if message:
        log.warning(message)
    return keys

"""``sst1m-r0-dl1``: SST-1M raw (R0) or simulated data to DL1 with the SST-1M defaults.

A `ctapipe.tools.process.ProcessorTool` (``ctapipe-process``) with

* the SST-1M default configuration for data or simulations, picked from the input
  (``resources/config/r0_dl1_{data,mc}.yaml``; user configs and the command line override it);
* the causal `~ctapipe_sst1m.calib.PedestalMonitor` (called by the SST-1M event source for
  data, by this tool for simulations) whose tables are written to the DL1 file;
* a per-event ``nsb_level`` column (p.e.) in ``/dl1/event/telescope/parameters/tel_XXX``, so
  that ctapipe's ``TableLoader`` returns it with the image parameters;
* ``--px-charges`` (pedestal charge statistics in fixed time windows and their histogram),
  ``--reclean DL1`` (clean with the stored windows of an earlier ``--px-charges`` run);
* atomic output (written to a temporary file beside the output, renamed at the end) and a short
  summary (events by type, NSB level, flagged pixels, images surviving cleaning).
"""

from collections import Counter, defaultdict
from importlib.resources import files
from pathlib import Path

import numpy as np
from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import Bool, List, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.io import read_table, write_table
from ctapipe.tools.process import ProcessorTool
from tqdm.auto import tqdm
from traitlets.config import Config

from ..calib.monitoring import MonitoringTablesOutput, PedestalMonitor
from ..core import PendingOutput, reject_extra_arguments
from ..io import SST1MEventSource
from ..io.fast_writer import speed_up_data_writer

__all__ = ["SST1MR0DL1Tool", "default_config_path", "main"]

PARAMETERS_GROUP = "/dl1/event/telescope/parameters"


def default_config_path(is_simulation):
    """Path of the packaged default configuration for data or simulations."""
    name = "r0_dl1_mc.yaml" if is_simulation else "r0_dl1_data.yaml"
    return Path(str(files("ctapipe_sst1m") / "resources" / "config" / name))


def _load_yaml_config(path):
    import yaml

    with open(path) as stream:
        return Config(yaml.safe_load(stream))


class SST1MR0DL1Tool(ProcessorTool):
    """Process SST-1M raw or simulated events to DL1 parameters with the SST-1M defaults."""

    name = "sst1m-r0-dl1"
    description = __doc__
    examples = """
    sst1m-r0-dl1 -i SST1M2_20240304_0012.fits.fz -o SST1M2_20240304_0012_dl1.h5 \\
        --DigiCamR0Corrections.calibration_file=averaged_calib_param_v2_2023_2024_tel2.h5
    sst1m-r0-dl1 -i run_part1.fits.fz -i run_part2.fits.fz -o run_dl1.h5 -c my_config.yaml
    sst1m-r0-dl1 -i raw.fits.fz -o dl1.h5 --px-charges
    sst1m-r0-dl1 -i raw.fits.fz -o dl1_recleaned.h5 --reclean dl1.h5
    """

    input_files = List(
        PathTrait(exists=True, directory_ok=False),
        default_value=[],
        help=(
            "Input files: one or more raw files of the same run and telescope, or one"
            " simulation file."
        ),
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None,
        allow_none=True,
        directory_ok=False,
        help="DL1 output file (HDF5).",
    ).tag(config=True)
    overwrite = Bool(False, help="Replace the output file if it exists.").tag(config=True)
    summary = Bool(
        True,
        help="Print a summary (events by type, NSB level, flagged pixels, cleaned images).",
    ).tag(config=True)
    use_default_config = Bool(
        True,
        help="Start from the packaged SST-1M configuration for data or simulations.",
    ).tag(config=True)

    aliases = {
        **{k: v for k, v in ProcessorTool.aliases.items() if k not in (("i", "input"),)},
        ("i", "input"): "SST1MR0DL1Tool.input_files",
        ("o", "output"): "SST1MR0DL1Tool.output_path",
        "reclean": "PedestalMonitor.reclean_path",
    }
    flags = {
        **ProcessorTool.flags,
        "overwrite": ({"SST1MR0DL1Tool": {"overwrite": True}}, "Replace the output file."),
        "px-charges": (
            {"PedestalMonitor": {"store_pixel_charges": True}},
            "Store pedestal pixel-charge statistics per time window and their histogram.",
        ),
        **flag(
            "summary",
            "SST1MR0DL1Tool.summary",
            "Print a summary of the processed events.",
            "Do not print the summary.",
        ),
    }
    classes = ProcessorTool.classes + [PedestalMonitor]

    # ------------------------------------------------------------------ setup
    def setup(self):
        reject_extra_arguments(self)
        if not self.input_files:
            raise ToolConfigurationError("sst1m-r0-dl1 needs at least one input file (-i RAW)")
        if self.output_path is None:
            raise ToolConfigurationError("sst1m-r0-dl1 needs an output file (-o DL1.h5)")
        self.output_path = self.output_path.expanduser().absolute()
        if self.output_path.exists() and not self.overwrite:
            raise ToolConfigurationError(
                f"{self.output_path} exists; use --overwrite or choose another output"
            )
        if not self.output_path.parent.is_dir():
            raise ToolConfigurationError(
                f"output directory {self.output_path.parent} does not exist; create it first"
            )
        self.is_data = SST1MEventSource.is_compatible(self.input_files[0])
        self._apply_defaults()

        # the checks above decided about overwriting; the output is completed in finish
        self._output = PendingOutput(self.output_path, overwrite=True, suffix=".h5")
        self._tmp_path = self._output.path
        self._keep_tmp = False
        self._exit_stack.callback(self._remove_tmp_on_failure)
        overrides = Config()
        overrides.EventSource.input_url = str(self.input_files[0])
        if len(self.input_files) > 1:
            overrides.SST1MEventSource.input_urls = [str(p) for p in self.input_files[1:]]
        overrides.DataWriter.output_path = str(self._tmp_path)
        overrides.DataWriter.overwrite = False
        overrides.PedestalMonitor.output_path = str(self._tmp_path)
        self.update_config(overrides)

        # entered before the DataWriter, so that it writes after the writer closed the file
        tables_output = self.enter_context(MonitoringTablesOutput(path=self._tmp_path))
        super().setup()
        speed_up_data_writer(self.write)  # same tables and values, found once per table
        subarray = self.event_source.subarray
        self.monitor = getattr(self.event_source, "pedestal_monitoring", None)
        self._call_monitor = False
        if not isinstance(self.monitor, PedestalMonitor):
            # simulations: no SST-1M source owns a monitor (see calib.monitoring)
            self.monitor = PedestalMonitor(subarray=subarray, parent=self, write_at_tool_exit=False)
            tables_output.attach(self.monitor)
            self._call_monitor = True
        self._event_types = Counter()
        self._nsb_rows = defaultdict(list)
        self._n_images = Counter()
        self._n_surviving = Counter()
        self._flagged = {}

    def _remove_tmp_on_failure(self):
        # finish closes the exit stack itself (to close the writer) before completing the file
        if not self._keep_tmp:
            self._output.discard()

    def _apply_defaults(self):
        """Merge the packaged default config below the user's configuration."""
        if not self.use_default_config:
            return
        path = default_config_path(is_simulation=not self.is_data)
        defaults = _load_yaml_config(path)
        defaults.merge(self.config)
        self.update_config(defaults)
        self.log.info("SST-1M defaults for %s from %s", "data" if self.is_data else "MC", path)

    # ------------------------------------------------------------------ loop
    def start(self):
        for event in tqdm(
            self.event_source,
            desc=self.name,
            total=self.event_source.max_events,
            unit="ev",
            disable=not self.progress_bar,
        ):
            self._event_types[event.trigger.event_type.name] += 1
            if not self.event_type_filter(event):
                continue
            if not self.software_trigger(event):
                continue
            for mon_source in self._monitoring_sources:
                mon_source.fill_monitoring_container(event)
            if self._call_monitor:  # after the monitoring sources: NSB charges as the images
                self.monitor(event)
            if self.should_calibrate:
                self.calibrate(event)
            if self.should_compute_dl1:
                self.process_images(event)
            if self.should_compute_muon_parameters:
                self.process_muons(event)
            if self.should_compute_dl2:
                self.process_shower(event)
            self.write(event)
            self._bookkeeping(event)

    def _bookkeeping(self, event):
        for tel_id, dl1 in event.dl1.tel.items():
            level = self.monitor.nsb_level(tel_id)
            self._nsb_rows[tel_id].append(
                (event.index.obs_id, event.index.event_id, np.nan if level is None else level)
            )
            self._n_images[tel_id] += 1
            if dl1.image_mask is not None and dl1.image_mask.any():
                self._n_surviving[tel_id] += 1
            mask = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask
            if mask is not None:
                self._flagged[tel_id] = int(np.count_nonzero(mask))

    # ------------------------------------------------------------------ finish
    def finish(self):
        try:
            super().finish()
            # close the DataWriter and the source now, so that the file can be completed
            self._keep_tmp = True
            self._exit_stack.close()  # also appends the monitoring tables (PedestalMonitor)
            if self.write.write_dl1_parameters:
                self._add_nsb_column()
            self._output.commit()
        finally:
            self._output.discard()
        Provenance().add_output_file(str(self.output_path), role="DL1/Event")
        if self.summary:
            print(self.summary_text())

    def _add_nsb_column(self):
        """Rewrite each parameter table with the per-event ``nsb_level`` column (p.e.)."""
        for tel_id, rows in self._nsb_rows.items():
            path = f"{PARAMETERS_GROUP}/tel_{tel_id:03d}"
            try:
                table = read_table(self._tmp_path, path)
            except (OSError, LookupError):
                continue
            ids = np.array([(r[0], r[1]) for r in rows], dtype=np.int64).reshape(-1, 2)
            if len(table) != len(ids) or np.any(table["event_id"] != ids[:, 1]):
                raise ToolConfigurationError(
                    f"{path}: rows do not match the processed events; cannot add nsb_level"
                )
            table["nsb_level"] = np.array([r[2] for r in rows], dtype=np.float32)
            table["nsb_level"].description = "camera-average pedestal charge (p.e.), causal"
            write_table(table, self._tmp_path, path, overwrite=True)

    def summary_text(self):
        """The short human-readable summary printed at the end of the run."""
        types = ", ".join(f"{name} {n}" for name, n in sorted(self._event_types.items()))
        lines = [f"sst1m-r0-dl1: {self.output_path}", f"  events by type: {types or 'none'}"]
        tel_ids = sorted(set(self._n_images) | set(self.monitor.telescopes))
        for tel_id in tel_ids:
            info = self.monitor.summary(tel_id)
            level = info.get("nsb_level")
            level_text = "unknown" if level is None else f"{level:.2f} p.e."
            lines.append(
                f"  tel {tel_id}: NSB level {level_text} (bin {info.get('nsb_rate')!r}, from"
                f" {info.get('source')}, {info.get('n_pedestal_events', 0)} pedestal events),"
                f" pixels flagged {self._flagged.get(tel_id, 0)},"
                f" saturated pixels {info.get('n_pixels_saturated', 0)}"
                f" ({info.get('n_pixels_reintegrated', 0)} re-integrated),"
                f" images surviving cleaning {self._n_surviving[tel_id]}/{self._n_images[tel_id]}"
            )
        return "\n".join(lines)


def main():
    """Run ``sst1m-r0-dl1``."""
    SST1MR0DL1Tool().run()

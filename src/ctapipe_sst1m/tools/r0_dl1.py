"""``sst1m-r0-dl1``: SST-1M raw (R0) or simulated data to DL1 with the SST-1M defaults.

A `ctapipe.tools.process.ProcessorTool` (``ctapipe-process``, every option of which it honours)
with the SST-1M default configuration for data or simulations (``resources/config/r0_dl1_*.yaml``,
below the user's configuration), the causal `~ctapipe_sst1m.calib.PedestalMonitor` and its
tables, a per-event ``nsb_level`` parameter column, the telescope pointing and calibration
record of real data (`ctapipe_sst1m.io`), ``--px-charges``/``--reclean``, an atomic output and a
short summary. A calibration file is required for data (one-line error without it).
"""

from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import Bool, List, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.tools.process import ProcessorTool
from tqdm.auto import tqdm

from .. import compat
from ..calib.monitoring import MonitoringTablesOutput, PedestalMonitor
from ..calib.processing import (
    DL1Completion,
    default_config_path,
    processing_config,
    run_overrides,
    simulation_monitor,
)
from ..calib.run_summary import RunBookkeeping
from ..config.processing import record_of_processor_tool
from ..core import SST1MTool
from ..core.signals import deferred_interruption, raise_if_interrupted
from ..io import SST1MEventSource
from ..io.fast_writer import speed_up_data_writer
from ..io.input_check import check_event_input

__all__ = ["SST1MR0DL1Tool", "default_config_path", "main"]


class SST1MR0DL1Tool(SST1MTool, ProcessorTool):
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
        help="Input files: raw files of one run and telescope, or one simulation file.",
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None, allow_none=True, directory_ok=False, help="DL1 output file (HDF5)."
    ).tag(config=True)
    overwrite = Bool(False, help="Replace the output file if it exists.").tag(config=True)
    summary = Bool(
        True, help="Print a summary (events by type, NSB level, flagged pixels, cleaned images)."
    ).tag(config=True)
    use_default_config = Bool(
        True, help="Start from the packaged SST-1M configuration for data or simulations."
    ).tag(config=True)

    aliases = {
        **{k: v for k, v in ProcessorTool.aliases.items() if k != ("i", "input")},
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
        **flag("summary", "SST1MR0DL1Tool.summary", "Print a summary.", "No summary."),
    }
    classes = ProcessorTool.classes + [PedestalMonitor]

    def setup(self):
        if not self.input_files:
            raise ToolConfigurationError("sst1m-r0-dl1 needs at least one input file (-i RAW)")
        if self.output_path is None:
            raise ToolConfigurationError("sst1m-r0-dl1 needs an output file (-o DL1.h5)")
        for path in self.input_files:
            check_event_input(path)
        self._output = self.prepare_output(self.output_path, suffix=".h5")
        self.output_path = self._output.target
        # closed after the writer, the source and the monitoring (last in, first out)
        self.completion = self.enter_context(DL1Completion(self._output))
        self.is_data = SST1MEventSource.is_compatible(self.input_files[0])
        self.update_config(
            processing_config(self.config, self.is_data, self.use_default_config, self.log)
        )
        self.update_config(run_overrides(self.input_files, self._output.path))
        # entered before the DataWriter, so that it writes after the writer closed the file
        tables_output = self.enter_context(MonitoringTablesOutput(path=self._output.path))
        super().setup()
        speed_up_data_writer(self.write)  # same tables and values, found once per table
        # simulations: no SST-1M source owns a monitor, the loop calls it
        self.monitor, self._call_monitor = simulation_monitor(
            self.event_source, self, tables_output
        )
        self.bookkeeping = RunBookkeeping()

    def start(self):
        """ProcessorTool's event loop, plus the monitor for MC and the bookkeeping."""
        source, bar = self.event_source, not self.progress_bar
        events = tqdm(source, self.name, source.max_events, unit="ev", disable=bar)
        with deferred_interruption():
            for event in events:
                raise_if_interrupted()
                self.bookkeeping.count(event)
                if not self.event_type_filter(event):
                    continue
                if self.add_nsb_in_waveforms:
                    self.waveform_modifier(event)
                if not self.software_trigger(event):
                    continue
                for mon_source in self._monitoring_sources:
                    mon_source.fill_monitoring_container(event)
                if self._call_monitor:  # after the monitoring sources: NSB charges as images
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
                self.bookkeeping.record(event, self.monitor)

    def finish(self):
        """Close the writer and the source, complete and commit the output, print the summary."""
        super().finish()
        rows = self.bookkeeping.nsb_rows if self.write.write_dl1_parameters else None
        record = record_of_processor_tool(self, self.monitor)  # extraction, cleaning, NSB bin
        self.completion.finished(nsb_rows=rows, processing_record=record)
        compat.exit_stack(self).close()  # completes the output after the writers closed
        Provenance().add_output_file(str(self.output_path), role="DL1/Event")
        if self.summary:
            print(self.bookkeeping.summary_text(self.name, self.output_path, self.monitor))


def main():
    """Run ``sst1m-r0-dl1``."""
    SST1MR0DL1Tool().run()

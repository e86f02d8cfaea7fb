"""The SST-1M R0→DL1 processing around ctapipe's ``ProcessorTool`` (``sst1m-r0-dl1``).

Plain functions that the tool wires together: the packaged default configuration for data
or simulations (merged below the user's), the event-source and writer settings of one run
the pedestal monitor of simulations (for data the SST-1M event source owns it) and the
completion of the output after the writers closed it.
"""

from traitlets.config import Config

from ..config.processing import write_processing_record
from ..core.config import packaged_config_path, read_config_file
from ..io.nsb_column import complete_dl1_file
from .monitoring import PedestalMonitor

__all__ = [
    "DL1Completion",
    "default_config_path",
    "processing_config",
    "run_overrides",
    "simulation_monitor",
]


def default_config_path(is_simulation):
    """Path of the packaged default configuration for data or simulations."""
    return packaged_config_path("r0_dl1_mc.yaml" if is_simulation else "r0_dl1_data.yaml")


def processing_config(user_config, is_data, use_default_config=True, log=None):
    """The user's configuration on top of the SST-1M defaults (a new `Config`).

    For data a calibration file is required (``DigiCamR0Corrections.calibration_required``)
    unless the user's configuration says otherwise.
    """
    defaults = Config()
    if is_data:
        defaults.DigiCamR0Corrections.calibration_required = True
    if use_default_config:
        path = default_config_path(is_simulation=not is_data)
        defaults.merge(read_config_file(path))
        if log is not None:
            log.info("SST-1M defaults for %s from %s", "data" if is_data else "MC", path)
    defaults.merge(user_config)
    return defaults


def run_overrides(input_files, output_path):
    """Event source and writer settings of one run: its input files, one (pending) output."""
    overrides = Config()
    overrides.EventSource.input_url = str(input_files[0])
    if len(input_files) > 1:
        overrides.SST1MEventSource.input_urls = [str(p) for p in input_files[1:]]
    overrides.DataWriter.output_path = str(output_path)
    overrides.DataWriter.overwrite = False
    overrides.PedestalMonitor.output_path = str(output_path)
    return overrides


def simulation_monitor(event_source, parent, tables_output):
    """The source's pedestal monitor, or for simulations a new one the tool must call.

    Returns ``(monitor, call_it)``; a new monitor's tables go to ``tables_output``.
    """
    monitor = getattr(event_source, "pedestal_monitoring", None)
    if isinstance(monitor, PedestalMonitor):
        return monitor, False
    monitor = PedestalMonitor(
        subarray=event_source.subarray, parent=parent, write_at_tool_exit=False
    )
    tables_output.attach(monitor)
    return monitor, True


class DL1Completion:
    """Context manager completing and committing a DL1 output once the run has finished.

    Entered in the tool's exit stack before the writer, the source and the monitoring, it
    closes after them (last in, first out): then, if `finished` was called, the ``nsb_level``
    column and the pointing/monitoring tables are completed and the pending output is
    committed; on a failure or an interruption the pending output is discarded.
    """

    def __init__(self, pending):
        self.pending = pending
        self._nsb_rows = None
        self._record = None
        self._finished = False

    def finished(self, nsb_rows=None, processing_record=None):
        """Mark the run as complete (``nsb_rows`` from `RunBookkeeping`, None: no column;
        ``processing_record`` from `config.processing.record_of_processor_tool`, stored in the
        file)."""
        self._nsb_rows = nsb_rows
        self._record = processing_record
        self._finished = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self._finished:
            complete_dl1_file(self.pending.path, self.pending.target, nsb_rows=self._nsb_rows)
            if self._record is not None:
                write_processing_record(self.pending.path, self._record)
            self.pending.commit()
        return False

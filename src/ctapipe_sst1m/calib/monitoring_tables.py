"""HDF5 tables of the pedestal monitoring: paths, writing, reading back, writing at tool exit.

Layout (one table per telescope, ``tel_XXX``; the paths are defined in
:mod:`ctapipe_sst1m.io.datamodel`):

* :data:`PEDESTAL_MONITORING_GROUP` — rolling (causal) statistics: time, n_events, source,
  nsb_level, per-pixel mean/std (p.e.) and baseline RMS (ADC); metadata: window settings, how the
  windows were seeded and the run totals of saturated / re-integrated pixels;
* :data:`PEDESTAL_CHUNK_GROUP` — statistics in fixed time windows (``--px-charges``), in
  ctapipe's pixel-statistics layout, read back for re-cleaning (`read_pedestal_windows`);
* :data:`PEDESTAL_HISTOGRAM_GROUP` — histogram of all pedestal pixel charges (``--px-charges``).

`MonitoringTablesOutput` is the context manager through which a monitor's tables are written
when a ctapipe Tool exits (registered with the public ``Tool.enter_context``).
"""

from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.time import Time
from ctapipe.core import Provenance
from ctapipe.io import read_table, write_table

from ..io.datamodel import (
    PEDESTAL_CHUNK_GROUP,
    PEDESTAL_HISTOGRAM_GROUP,
    PEDESTAL_MONITORING_GROUP,
)

__all__ = [
    "PEDESTAL_CHUNK_GROUP",
    "PEDESTAL_HISTOGRAM_GROUP",
    "PEDESTAL_MONITORING_GROUP",
    "MonitoringTablesOutput",
    "read_pedestal_windows",
    "read_rolling_statistics",
    "rows_to_table",
    "table_path",
    "write_tables",
]


def table_path(group, tel_id):
    """HDF5 path of the table of ``tel_id`` in ``group``."""
    return f"{group}/tel_{int(tel_id):03d}"


def rows_to_table(rows):
    """Build a table column by column (keeps `~astropy.time.Time` columns as Time)."""
    table = Table()
    for name in rows[0]:
        values = [row[name] for row in rows]
        if isinstance(values[0], Time):
            table[name] = Time(values)
        elif isinstance(values[0], np.ndarray):
            table[name] = np.stack(values)
        else:
            table[name] = values
    return table


def write_tables(tables, path):
    """Append ``{hdf5_path: Table}`` to the HDF5 file ``path`` (replacing those tables)."""
    for hdf5_path, table in tables.items():
        write_table(table, path, hdf5_path, overwrite=True)
    if tables:
        Provenance().add_output_file(str(path), role="DL1/Monitoring", add_meta=False)


def read_pedestal_windows(path, tel_ids, min_events):
    """Stored fixed time windows of pedestal statistics (re-cleaning input).

    Returns
    -------
    dict
        ``{tel_id: (start times as unix_tai seconds, table)}`` keeping windows with at least
        ``min_events`` pedestal events.

    Raises
    ------
    OSError
        If no telescope has such a window (the message says how to produce the file).
    """
    windows = {}
    for tel_id in tel_ids:
        try:
            table = read_table(path, table_path(PEDESTAL_CHUNK_GROUP, tel_id))
        except (OSError, LookupError):  # no such file / no table for this telescope
            continue
        table = table[table["n_events"] >= min_events]
        if len(table) == 0:
            continue
        windows[tel_id] = (Time(table["time_start"]).unix_tai, table)
    if not windows:
        raise OSError(
            f"{path} holds no pedestal time windows with >= {min_events}"
            " events; produce it with --px-charges (store_pixel_charges) first"
        )
    Provenance().add_input_file(str(path), role="DL1/Monitoring")
    return windows


def read_rolling_statistics(path, tel_id):
    """The rolling pedestal statistics table of ``tel_id`` in the DL1 file ``path``.

    Raises
    ------
    OSError
        If the file or the table does not exist.
    """
    try:
        return read_table(path, table_path(PEDESTAL_MONITORING_GROUP, tel_id))
    except (OSError, LookupError) as err:
        raise OSError(
            f"{path}: no {table_path(PEDESTAL_MONITORING_GROUP, tel_id)} ({err}); give a DL1"
            " file written by sst1m-r0-dl1 for this telescope"
        ) from None


class MonitoringTablesOutput:
    """Context manager writing a monitor's tables to a file when it exits without error.

    A `~ctapipe_sst1m.calib.PedestalMonitor` built inside a ctapipe Tool registers one with
    ``tool.enter_context(MonitoringTablesOutput(monitor))``; the tool's exit stack then closes
    it after every context entered later (LIFO), i.e. after the ``DataWriter`` of
    ``ctapipe-process`` when the monitor was built with the event source. A tool that builds
    its monitor later can register an output early and `attach` the monitor to it.

    Parameters
    ----------
    monitor : PedestalMonitor or None
        Monitor whose ``tables()`` are written (see `attach`).
    path : path-like or None
        Output file; None uses ``monitor.default_output_path()``.
    """

    def __init__(self, monitor=None, path=None):
        self.monitor = monitor
        self.path = None if path is None else Path(path)
        self.written = None

    def attach(self, monitor):
        """Write the tables of ``monitor`` at exit."""
        self.monitor = monitor
        return self

    def close(self):
        """Write the tables now (once); returns the file written or None."""
        if self.written is None and self.monitor is not None:
            self.written = self.monitor.write(self.path)
        return self.written

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            self.close()
        return False

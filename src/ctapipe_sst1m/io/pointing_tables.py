"""Telescope pointing in DL1 files: the one reader, the writer and the recorder of real data.

Two forms of the pointing exist in ctapipe's data model and this module reads both:

* **monitoring** (observed data): ``/dl0/monitoring/telescope/pointing/tel_XXX`` with the
  columns ``time`` (`~astropy.time.Time`), ``altitude`` and ``azimuth`` (rad), interpolated in
  time by ctapipe's `~ctapipe.monitoring.PointingInterpolator` (what ``TableLoader(pointing=True)``,
  ``ctapipe-apply-models`` and the HDF5 event source do);
* **fixed** (simulations): ``/configuration/telescope/pointing/tel_XXX``, one row per
  observation (``obs_id``, ``telescope_pointing_altitude/azimuth``), written by ctapipe's
  ``DataWriter`` for simulated data only.

ctapipe 0.32 writes no monitoring pointing for observed data. :class:`PointingRecorder` does:
the SST-1M event source calls it for every event, it keeps one row per ``interval`` (and on a
jump of the pointing, and always the first and the last event, so that every event time lies
inside the table), and writes the table into the tool's ``DataWriter`` output when the tool
exits (registered through the public ``Tool.enter_context``). So ``sst1m-r0-dl1`` and stock
``ctapipe-process`` both produce DL1 that the DL2 and stereo tools accept.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.table import Table
from astropy.time import Time
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity
from ctapipe.core.traits import Path as PathTrait
from ctapipe.io import read_table, write_table
from ctapipe.monitoring import PointingInterpolator

from .datamodel import DL0_TEL_POINTING_GROUP, FIXED_POINTING_GROUP, tel_path
from .tool_outputs import register_at_tool_exit, tool_output_path

__all__ = [
    "PointingRecorder",
    "TelescopePointing",
    "pointing_table",
    "read_telescope_pointing",
    "telescopes_with_pointing",
    "write_telescope_pointing",
]


_POINTING_GROUPS = ((DL0_TEL_POINTING_GROUP, "monitoring"), (FIXED_POINTING_GROUP, "fixed"))


@dataclass
class TelescopePointing:
    """The pointing of one telescope as stored in a DL1 file (monitoring or fixed).

    Attributes
    ----------
    tel_id : int
        Telescope id.
    kind : str
        ``"monitoring"`` (time series) or ``"fixed"`` (one row per observation).
    table : astropy.table.Table
        The stored table (columns as described in the module docstring).
    """

    tel_id: int
    kind: str
    table: Table
    _interpolator: PointingInterpolator | None = field(default=None, repr=False, compare=False)

    @property
    def altitude(self):
        """All stored altitudes (Quantity)."""
        name = "altitude" if self.kind == "monitoring" else "telescope_pointing_altitude"
        return u.Quantity(self.table[name])

    @property
    def azimuth(self):
        """All stored azimuths (Quantity)."""
        name = "azimuth" if self.kind == "monitoring" else "telescope_pointing_azimuth"
        return u.Quantity(self.table[name])

    def at(self, time, obs_id=None, clip=False):
        """(altitude, azimuth) in degrees at ``time`` (array `~astropy.time.Time`).

        Monitoring pointing is interpolated exactly as ctapipe's `PointingInterpolator` does
        (linear in TAI MJD, unwrapped azimuth; times outside the table raise ``ValueError``).
        With ``clip``, times outside the table take the pointing of its first or last row.
        Fixed pointing is taken from the row of each event's ``obs_id`` (the first row if
        ``obs_id`` is None).
        """
        if self.kind == "monitoring":
            if self._interpolator is None:
                self._interpolator = PointingInterpolator()
                self._interpolator.add_table(self.tel_id, self.table)
            if clip:
                times = self.table["time"]
                mjd = np.clip(time.tai.mjd, times.tai.mjd.min(), times.tai.mjd.max())
                time = Time(mjd, format="mjd", scale="tai")
            alt, az = self._interpolator(self.tel_id, time)
            return alt.to(u.deg), az.to(u.deg)
        n = len(np.atleast_1d(time.jd1)) if time is not None else len(np.atleast_1d(obs_id))
        rows = np.zeros(n, dtype=np.int64)
        if obs_id is not None:
            stored = np.asarray(self.table["obs_id"])
            order = np.argsort(stored)
            wanted = np.broadcast_to(np.asarray(obs_id), (n,))
            pos = np.clip(np.searchsorted(stored[order], wanted), 0, len(stored) - 1)
            if np.any(stored[order][pos] != wanted):
                missing = sorted(set(wanted[stored[order][pos] != wanted].tolist()))
                raise KeyError(f"no fixed pointing of tel {self.tel_id} for obs_id {missing}")
            rows = order[pos]
        return self.altitude.to(u.deg)[rows], self.azimuth.to(u.deg)[rows]

    def median_zenith_azimuth(self):
        """Median zenith and circular-mean azimuth (deg) of the stored rows."""
        alt = self.altitude.to_value(u.deg)
        az = self.azimuth.to_value(u.rad)
        mean_az = np.rad2deg(np.arctan2(np.mean(np.sin(az)), np.mean(np.cos(az))))
        return float(90.0 - np.median(alt)), float(mean_az % 360.0)


@contextmanager
def _open(h5file):
    if isinstance(h5file, tables.File):
        yield h5file
    else:
        with tables.open_file(h5file, "r") as handle:
            yield handle


def telescopes_with_pointing(h5file):
    """Telescope ids with a monitoring or fixed pointing table in ``h5file`` (sorted)."""
    ids = set()
    with _open(h5file) as h5:
        for group, _ in _POINTING_GROUPS:
            if group in h5.root:
                for node in h5.get_node(group)._f_iter_nodes("Table"):
                    ids.add(int(node._v_name.split("_")[1]))
    return sorted(ids)


def read_telescope_pointing(h5file, tel_id):
    """The pointing of ``tel_id`` in a DL1 file (path or open `tables.File`), or None.

    The monitoring table is preferred to the fixed pointing, as ctapipe's ``TableLoader`` does.
    """
    with _open(h5file) as h5:
        for group, kind in _POINTING_GROUPS:
            path = tel_path(group, tel_id)
            if path in h5.root:
                table = read_table(h5, path)
                if len(table) > 0:
                    return TelescopePointing(int(tel_id), kind, table)
    return None


def pointing_table(time, altitude, azimuth):
    """A monitoring pointing table (``time``, ``altitude``/``azimuth`` in rad)."""
    return Table(
        {
            "time": Time(time),
            "altitude": u.Quantity(altitude, u.rad),
            "azimuth": u.Quantity(azimuth, u.rad),
        }
    )


def write_telescope_pointing(h5file, tel_id, table):
    """Append a monitoring pointing table of ``tel_id`` to an existing DL1 file."""
    path = tel_path(DL0_TEL_POINTING_GROUP, tel_id)
    table = pointing_table(table["time"], table["altitude"], table["azimuth"])
    table["altitude"].description = "Telescope pointing altitude"
    table["azimuth"].description = "Telescope pointing azimuth, measured N->E"
    write_table(table, h5file, path, append=True)


class PointingRecorder(Component):
    """Record the telescope pointing of observed events and write it as ctapipe monitoring.

    Call it with every event (the SST-1M event source does); a row is kept for the first event,
    whenever ``interval`` has passed since the last kept row or the pointing moved by more than
    ``max_step`` since it, and for the last event. :meth:`write` appends the tables to a DL1
    file; inside a Tool this happens when the tool exits (see `ctapipe_sst1m.io.tool_outputs`).
    """

    interval = AstroQuantity(
        default_value=10 * u.s,
        physical_type=u.physical.time,
        help=(
            "Time between two recorded pointing rows. The tracking alt/az is smooth, so linear"
            " interpolation between rows 10 s apart is exact to far better than 0.001 deg."
        ),
    ).tag(config=True)
    max_step = AstroQuantity(
        default_value=0.1 * u.deg,
        physical_type=u.physical.angle,
        help="A pointing change larger than this since the last recorded row records a row.",
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None,
        allow_none=True,
        directory_ok=False,
        help=(
            "DL1 file the pointing is written to when the tool exits; by default the"
            " DataWriter.output_path of the configuration (the ctapipe-process output)."
        ),
    ).tag(config=True)

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self._rows = {}
        self._last = {}
        self._interval_s = self.interval.to_value(u.s)
        self._max_step = self.max_step.to_value(u.rad)
        self.written = None

    def attach_to_tool(self):
        """Write into the tool's output when the tool exits; False when there is no tool."""
        return register_at_tool_exit(self, self._write_at_exit)

    def __call__(self, tel_id, tai_s, altitude_rad, azimuth_rad):
        """Record the pointing of one event (TAI seconds since 1970, angles in rad)."""
        if not (np.isfinite(altitude_rad) and np.isfinite(azimuth_rad)):
            return
        row = (float(tai_s), float(altitude_rad), float(azimuth_rad))
        rows = self._rows.setdefault(tel_id, [])
        if not rows:
            rows.append(row)
        else:
            t0, alt0, az0 = rows[-1]
            if tai_s - t0 >= self._interval_s or _separation(alt0, az0, row[1], row[2]) > (
                self._max_step
            ):
                rows.append(row)
        self._last[tel_id] = row

    def to_tables(self):
        """``{tel_id: pointing table}`` of the recorded rows (the last event included)."""
        result = {}
        for tel_id, rows in self._rows.items():
            rows = list(rows)
            last = self._last.get(tel_id)
            if last is not None and last[0] > rows[-1][0]:
                rows.append(last)
            data = np.array(rows, dtype=np.float64)
            time = Time(data[:, 0], format="unix_tai", scale="tai")
            result[tel_id] = pointing_table(time, data[:, 1] * u.rad, data[:, 2] * u.rad)
        return result

    def write(self, path):
        """Append the pointing tables to the existing DL1 file ``path``."""
        for tel_id, table in self.to_tables().items():
            write_telescope_pointing(path, tel_id, table)
            self.log.debug("tel %d: %d pointing rows written to %s", tel_id, len(table), path)
        self.written = Path(path)

    def _write_at_exit(self):
        path = tool_output_path(self, self.output_path)
        if not self._rows or path is None or self.written is not None:
            return
        if not path.is_file():  # the run failed before the output existed: create nothing
            return
        self.write(path)


def _separation(alt0, az0, alt1, az1):
    cos = np.sin(alt0) * np.sin(alt1) + np.cos(alt0) * np.cos(alt1) * np.cos(az1 - az0)
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))

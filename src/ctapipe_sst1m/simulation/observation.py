"""Schedule, pointing and observing conditions of a toy observation night.

:class:`NightSchedule` lays out the runs of a night: consecutive runs of ``run_duration``
separated by ``run_gap`` (and ``wobble_gap`` when the telescopes move to another wobble
position), the wobble positions at ``wobble_offset`` from the target at position angles
``k · 360° / n_wobbles`` (two wobbles: north and south of the target), runs truncated early.
Without an explicit ``start_time`` the night starts when the target, setting after its
culmination in the 24 h from noon UTC of the date, reaches ``start_zenith`` (or at the
culmination if it never gets that high), and with ``spread_runs`` the runs are spread evenly
until the setting target reaches ``end_zenith``, so that even a few test runs cover the zenith
range of a whole night (25° → 45° for a target culminating above 25°; the Crab: 28° → 45°).

:class:`ObservingConditions` gives the night-sky background rate at any time (a slow
variation around the camera model's rate, a factor for moonlit runs) and the atmospheric
transmission of every run (clouds).

Alt/az come from astropy at the telescope locations (offline: no IERS download).
:func:`write_telescope_pointing` writes the telescope pointing table exactly as ctapipe's
``PointingInterpolator`` / ``TableLoader(pointing=True)`` read it.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, SkyCoord
from astropy.table import Table
from astropy.time import Time
from ctapipe.core import Component
from ctapipe.core.traits import Bool, Float, Int, List, Unicode
from ctapipe.io import write_table

from ..core.errors import SST1MInputError
from ..io.clock import tai_ns_to_time
from ..io.datamodel import DL0_TEL_POINTING_GROUP, tel_path
from ..stereo.timestamps import time_to_ns
from .quantities import UnitQuantity

__all__ = [
    "NightSchedule",
    "ObservingConditions",
    "RunPlan",
    "UnitQuantity",
    "altaz_track",
    "write_telescope_pointing",
]

NS = 1_000_000_000


@dataclass
class RunPlan:
    """One planned run: numbers, times (ns TAI), wobble and conditions."""

    index: int
    run_number: int
    obs_id: int
    start_ns: int
    planned_duration_ns: int
    duration_ns: int
    wobble_index: int
    wobble: SkyCoord
    transmission: float = 1.0
    nsb_factor: float = 1.0
    flags: list = field(default_factory=list)

    @property
    def stop_ns(self):
        """End of the data taking of the run (after truncation) [ns TAI]."""
        return self.start_ns + self.duration_ns

    @property
    def wobble_name(self):
        """``W1``, ``W2``, ... as the DAQ writes it into the TARGET header."""
        return f"W{self.wobble_index + 1}"


def altaz_track(coord, location, times):
    """Altitude and azimuth [rad] of a fixed ICRS position at ``times`` from ``location``."""
    altaz = coord.transform_to(AltAz(obstime=times, location=location))
    return altaz.alt.to_value(u.rad), altaz.az.to_value(u.rad)


def interpolate_altaz(grid_ns, alt, az, times_ns):
    """Linear interpolation of an alt/az track (unit vectors; no trouble at the az wrap)."""
    x = np.asarray(times_ns, dtype=np.int64) - grid_ns[0]
    g = (grid_ns - grid_ns[0]).astype(float)
    vec = np.stack([np.cos(alt) * np.cos(az), np.cos(alt) * np.sin(az), np.sin(alt)])
    v = np.stack([np.interp(x.astype(float), g, c) for c in vec])
    out_alt = np.arctan2(v[2], np.hypot(v[0], v[1]))
    out_az = np.mod(np.arctan2(v[1], v[0]), 2 * np.pi)
    return out_alt, out_az


def write_telescope_pointing(path, tel_id, times, altitude, azimuth):
    """Write the tracking pointing of one telescope into a DL1 file.

    The table ``/dl0/monitoring/telescope/pointing/tel_XXX`` has the columns ``time``
    (astropy ``Time``, TAI), ``altitude`` and ``azimuth`` (rad), as ctapipe's
    ``PointingInterpolator`` reads them. This is the one place the toy writes pointing;
    swap it for the real-data writer once that exists.
    """
    table = Table(
        {
            "time": times,
            "azimuth": u.Quantity(azimuth, u.rad),
            "altitude": u.Quantity(altitude, u.rad),
        }
    )
    write_table(table, path, tel_path(DL0_TEL_POINTING_GROUP, tel_id), overwrite=True)


class NightSchedule(Component):
    """Runs, wobble positions and times of a toy observation night (see the module docstring)."""

    date = Unicode(
        "2024-03-05",
        help="Date of the night (YYYY-MM-DD, the evening date as in SST-1M file names).",
    ).tag(config=True)
    n_runs = Int(4, min=1, max=9999, help="Number of runs of the night.").tag(config=True)
    first_run = Int(1, min=1, max=9999, help="Run number of the first run.").tag(config=True)
    run_duration = UnitQuantity(
        default_value=40.0 * u.s,
        physical_type=u.s,
        help="Planned duration of every run (a bare number is in seconds).",
    ).tag(config=True)
    run_gap = UnitQuantity(
        default_value=5.0 * u.s,
        physical_type=u.s,
        help="Pause between two runs at the same wobble position (DAQ restart).",
    ).tag(config=True)
    wobble_gap = UnitQuantity(
        default_value=60.0 * u.s,
        physical_type=u.s,
        help="Pause between two runs at different wobble positions (slewing).",
    ).tag(config=True)
    wobble_offset = UnitQuantity(
        default_value=0.4 * u.deg,
        physical_type=u.deg,
        help="Offset of the wobble positions from the target (a bare number is in degrees).",
    ).tag(config=True)
    n_wobbles = Int(2, min=1, max=8, help="Number of wobble positions around the target.").tag(
        config=True
    )
    wobble_position_angle = UnitQuantity(
        default_value=0.0 * u.deg,
        physical_type=u.deg,
        help="Position angle (north through east) of the first wobble position.",
    ).tag(config=True)
    runs_per_wobble = Int(
        0,
        min=0,
        help=(
            "Runs taken at one wobble position before moving to the next (cyclically); 0 "
            "divides the night into n_wobbles equal blocks."
        ),
    ).tag(config=True)
    start_time = Unicode(
        "",
        help=(
            "UTC start of the first run (ISO format); empty: when the setting target reaches "
            "start_zenith in the night of the date (or at its culmination)."
        ),
    ).tag(config=True)
    start_zenith = UnitQuantity(
        default_value=25.0 * u.deg,
        physical_type=u.deg,
        help="Zenith angle of the target at the start of the night when start_time is empty.",
    ).tag(config=True)
    end_zenith = UnitQuantity(
        default_value=45.0 * u.deg,
        physical_type=u.deg,
        help=(
            "Zenith angle of the setting target at the end of the last run when spread_runs "
            "is on (and start_time is empty)."
        ),
    ).tag(config=True)
    spread_runs = Bool(
        True,
        help=(
            "Spread the runs evenly between the start and the time the target reaches "
            "end_zenith (longer pauses, at least run_gap or wobble_gap); off: runs follow "
            "each other after run_gap or wobble_gap."
        ),
    ).tag(config=True)
    truncated_runs = List(
        Int(),
        default_value=[],
        help="Run numbers of the runs that stop early (a data-quality bad period).",
    ).tag(config=True)
    truncated_fraction = Float(
        0.4,
        min=0.01,
        max=1.0,
        help="Fraction of the planned duration that a truncated run lasts.",
    ).tag(config=True)

    @property
    def night(self):
        """The date of the night as ``datetime.date``."""
        try:
            return date.fromisoformat(self.date)
        except ValueError:
            raise SST1MInputError(
                f"--date {self.date!r}: not a date; give YYYY-MM-DD, e.g. 2024-03-05"
            ) from None

    def start(self, target, location):
        """Start of the first run (astropy Time, TAI)."""
        if self.start_time:
            try:
                return Time(self.start_time, scale="utc").tai
            except ValueError:
                raise SST1MInputError(
                    f"NightSchedule.start_time {self.start_time!r}: not an ISO time"
                ) from None
        return self._setting_time(target, location, self.start_zenith)

    def end(self, target, location):
        """End of the last run when the runs are spread (None: runs back to back)."""
        if self.start_time or not self.spread_runs:
            return None
        return self._setting_time(target, location, self.end_zenith, never=None)

    def _setting_time(self, target, location, zenith, never="culmination"):
        """When the target, after its culmination in the night, sets to ``zenith`` (TAI).

        The culmination if the target never gets as high as ``zenith``; ``never`` (the
        culmination or None) if it does not set that low in the 24 h from noon.
        """
        noon = datetime.combine(self.night, datetime.min.time(), tzinfo=UTC)
        noon = Time(noon + timedelta(hours=12), scale="utc")
        grid = noon + np.arange(0, 24 * 60 + 1, 2) * u.min
        alt, _ = altaz_track(target, location, grid)
        culmination = int(np.argmax(alt))
        wanted = np.pi / 2 - zenith.to_value(u.rad)
        after = alt[culmination:]
        below = np.nonzero(after <= wanted)[0]
        if alt[culmination] <= wanted:
            index = culmination
        elif len(below) == 0:
            if never is None:
                return None
            index = culmination
        else:
            k = below[0]
            # linear interpolation between the two grid points around the crossing
            a0, a1 = after[k - 1], after[k]
            frac = (a0 - wanted) / (a0 - a1) if a0 != a1 else 0.0
            index = culmination + k - 1 + frac
        return (noon + index * 2 * u.min).tai

    def wobble_positions(self, target):
        """ICRS wobble positions around ``target``."""
        step = 360.0 / self.n_wobbles
        angles = self.wobble_position_angle.to_value(u.deg) + step * np.arange(self.n_wobbles)
        return [target.directional_offset_by(a * u.deg, self.wobble_offset) for a in angles]

    def wobble_of_run(self, index):
        """Wobble index of the run with position ``index`` in the night."""
        per = self.runs_per_wobble or int(np.ceil(self.n_runs / self.n_wobbles))
        return (index // per) % self.n_wobbles

    def plan(self, target, location, conditions):
        """The runs of the night as a list of :class:`RunPlan`."""
        night = self.night
        if self.first_run + self.n_runs - 1 > 9999:
            raise SST1MInputError("run numbers above 9999 do not fit SST1M names; lower --n-runs")
        wobbles = self.wobble_positions(target)
        start_ns = int(time_to_ns(self.start(target, location)))
        duration_ns = int(round(self.run_duration.to_value(u.s) * NS))
        end = self.end(target, location)
        pause_ns = 0  # the even pause between runs when they are spread until end_zenith
        if end is not None and self.n_runs > 1:
            free_ns = int(time_to_ns(end)) - start_ns - self.n_runs * duration_ns
            pause_ns = max(0, free_ns // (self.n_runs - 1))
        runs = []
        t = start_ns
        for index in range(self.n_runs):
            wobble = self.wobble_of_run(index)
            if index > 0:
                moved = wobble != runs[-1].wobble_index
                gap = self.wobble_gap if moved else self.run_gap
                t = runs[-1].start_ns + runs[-1].planned_duration_ns
                t += max(pause_ns, int(round(gap.to_value(u.s) * NS)))
            number = self.first_run + index
            flags = []
            duration = duration_ns
            if number in self.truncated_runs:
                duration = int(round(duration_ns * self.truncated_fraction))
                flags.append("truncated")
            transmission, nsb_factor, more = conditions.of_run(number)
            runs.append(
                RunPlan(
                    index=index,
                    run_number=number,
                    obs_id=int(night.strftime("%Y%m%d")) * 10000 + number,
                    start_ns=t,
                    planned_duration_ns=duration_ns,
                    duration_ns=duration,
                    wobble_index=wobble,
                    wobble=wobbles[wobble],
                    transmission=transmission,
                    nsb_factor=nsb_factor,
                    flags=flags + more,
                )
            )
        return runs


class ObservingConditions(Component):
    """Night-sky background through the night and atmospheric transmission per run."""

    nsb_variation = Float(
        0.15,
        min=0.0,
        max=0.9,
        help=(
            "Relative amplitude of the slow NSB variation through the night (the rate is "
            "CameraNoiseModel.nsb_rate × (1 + nsb_variation · sin(2π t / nsb_period)))."
        ),
    ).tag(config=True)
    nsb_period = UnitQuantity(
        default_value=3.0 * u.h,
        physical_type=u.s,
        help="Period of the slow NSB variation (a bare number is in hours).",
    ).tag(config=True)
    moon_runs = List(
        Int(), default_value=[], help="Run numbers with a high NSB (moonlight, a bad period)."
    ).tag(config=True)
    moon_nsb_factor = Float(
        3.0, min=1.0, help="Factor on the NSB rate during the moonlit runs."
    ).tag(config=True)
    cloud_runs = List(
        Int(), default_value=[], help="Run numbers observed through a cloud (a bad period)."
    ).tag(config=True)
    cloud_transmission = Float(
        0.6,
        min=0.05,
        max=1.0,
        help="Atmospheric transmission of the Cherenkov light during the cloudy runs.",
    ).tag(config=True)

    def of_run(self, run_number):
        """(transmission, NSB factor, list of bad-period flags) of a run."""
        flags = []
        transmission = 1.0
        nsb = 1.0
        if run_number in self.cloud_runs:
            transmission = self.cloud_transmission
            flags.append("cloud")
        if run_number in self.moon_runs:
            nsb = self.moon_nsb_factor
            flags.append("moon")
        return transmission, nsb, flags

    def nsb_rate(self, base_rate, night_start_ns, run, time_ns):
        """NSB rate [GHz] at ``time_ns`` (scalar or array) during ``run``."""
        period = self.nsb_period.to_value(u.s)
        phase = 2 * np.pi * (np.asarray(time_ns, dtype=np.int64) - night_start_ns) / NS / period
        return base_rate * run.nsb_factor * (1.0 + self.nsb_variation * np.sin(phase))


def run_pointing_grid(run, step_s=1.0):
    """Times [ns] of the pointing table of a run: every ``step_s`` from 1 s before to 1 s after."""
    n = int(np.ceil((run.duration_ns / NS + 2.0) / step_s)) + 1
    return run.start_ns - NS + (np.arange(n) * step_s * NS).astype(np.int64)


def grid_times(grid_ns):
    """astropy Time (TAI) of integer-ns grid times."""
    return Time(tai_ns_to_time(grid_ns), scale="tai")

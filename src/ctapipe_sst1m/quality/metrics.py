"""Per-run data-quality metrics of one telescope setup (see ``docs/guide/quality.rst``).

Plain functions carry the numerics (:func:`elapsed_time`, :func:`robust_std`,
:func:`pedestal_nsb`); :class:`RunMetrics` is the configurable Component that turns the
`~.events.RunEvents` of a run into one row of the DQ table.
"""

import astropy.units as u
import numpy as np
import tables
from astropy.time import Time
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Float, Int, List
from ctapipe.io import read_table

from ..io.datamodel import PEDESTAL_MONITORING_GROUP, tel_path
from ..io.pointing_tables import read_telescope_pointing
from .moon import moon_geometry

__all__ = ["RunMetrics", "elapsed_time", "pedestal_nsb", "robust_std", "threshold_column"]


def elapsed_time(times, max_gap):
    """Sum of the intervals between consecutive events shorter than ``max_gap`` (seconds).

    Gaps longer than ``max_gap`` (data-taking interruptions) do not count as observing time.
    """
    times = np.sort(np.asarray(times, dtype=float))
    if len(times) < 2:
        return 0.0
    dt = np.diff(times)
    return float(dt[dt <= max_gap].sum())


def robust_std(values):
    """1.4826 × median absolute deviation (the standard deviation of a Gaussian core)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.nan
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def pedestal_nsb(path, tel_id, t_start, t_stop):
    """NSB level of the interleaved pedestals of a run: (mean, spread, pixel std, n_rows).

    From ``/dl1/monitoring/telescope/pedestal/tel_0XX`` (rolling pedestal statistics): rows
    that are valid and fall in [t_start, t_stop] (TAI unix seconds; if none does, the valid
    row nearest in time). ``mean`` and ``spread`` are the mean and standard deviation of the
    camera-average pedestal charge (``nsb_level``, p.e.) over those rows; ``pixel std`` is the
    mean over the rows of the camera median of the per-pixel pedestal charge std (p.e.),
    which grows as the square root of the NSB rate. NaN if the table is missing.
    """
    node = tel_path(PEDESTAL_MONITORING_GROUP, tel_id)
    with tables.open_file(path, "r") as h5:
        if node not in h5.root or h5.get_node(node).nrows == 0:
            return np.nan, np.nan, np.nan, 0
        table = read_table(h5, node)
    valid = np.asarray(table["is_valid"], dtype=bool) & np.isfinite(table["nsb_level"])
    if not valid.any():
        return np.nan, np.nan, np.nan, 0
    t = table["time"].tai.to_value("unix_tai")
    sel = valid & (t >= t_start) & (t <= t_stop)
    if not sel.any():
        nearest = np.flatnonzero(valid)[np.argmin(np.abs(t[valid] - 0.5 * (t_start + t_stop)))]
        sel = np.zeros(len(t), dtype=bool)
        sel[nearest] = True
    level = np.asarray(table["nsb_level"], dtype=float)[sel]
    std = np.asarray(table["std"], dtype=float)[sel].reshape(np.count_nonzero(sel), -1)
    pixel_std = float(np.nanmean(np.nanmedian(std, axis=1)))
    spread = float(np.std(level)) if len(level) > 1 else 0.0
    return float(np.mean(level)), spread, pixel_std, int(np.count_nonzero(sel))


def threshold_column(threshold):
    """Name of the rate column above an intensity threshold, e.g. ``rate_above_100pe``."""
    return f"rate_above_{threshold:g}pe"


class RunMetrics(Component):
    """The metrics of one run and telescope setup (one row of the DQ table)."""

    intensity_thresholds = List(
        Float(),
        default_value=[50.0, 100.0, 200.0, 400.0, 1000.0],
        help=(
            "Image intensities (p.e.) above which the rate of events surviving cleaning is "
            "given, one column per threshold (stereo: the fainter of the two images)."
        ),
    ).tag(config=True)
    max_time_gap = AstroQuantity(
        default_value=10.0 * u.s,
        physical_type=u.s,
        help=(
            "Intervals between consecutive events longer than this are interruptions and do "
            "not count as observing time."
        ),
    ).tag(config=True)
    dead_time = AstroQuantity(
        default_value=20.0 * u.us,
        physical_type=u.s,
        help=(
            "Dead time after every recorded trigger (non-paralysable); the dead-time fraction "
            "is the recorded trigger rate times this. An assumption, not a measured DigiCam "
            "value (the toy nights use the same 20 us)."
        ),
    ).tag(config=True)
    gammaness_cut = Float(
        0.7,
        min=0.0,
        max=1.0,
        help="Gammaness above which a DL2 event counts as gamma-like (rate_gamma_like).",
    ).tag(config=True)
    chunk_size = Int(100_000, min=1000, help="Rows read at a time from the DL1/DL2 tables.").tag(
        config=True
    )

    def livetime(self, run):
        """(elapsed, livetime, dead-time fraction) of a run, seconds and fraction.

        The dead-time fraction of each telescope is its recorded rate times ``dead_time``;
        for stereo the run is dead when either telescope is, 1 - Π(1 - f_tel) (a lower
        bound when the stereo file holds only the coincidences).
        """
        elapsed = elapsed_time(run.time, self.max_time_gap.to_value(u.s))
        if elapsed <= 0:
            return elapsed, 0.0, np.nan
        tau = self.dead_time.to_value(u.s)
        alive = 1.0
        for n in run.n_rows.values():
            alive *= 1.0 - min(n * tau / elapsed, 1.0)
        dead = 1.0 - alive
        return elapsed, elapsed * (1.0 - dead), dead

    def zenith(self, run):
        """(mean zenith, min, max, mean azimuth) in degrees of the first telescope of a run."""
        pointing = read_telescope_pointing(run.path, run.tel_ids[0])
        if pointing is None or run.n_events == 0:
            return np.nan, np.nan, np.nan, np.nan
        if pointing.kind == "fixed":
            alt, az = pointing.at(None, obs_id=[run.obs_id])
        else:
            times = Time(run.time[:: max(1, run.n_events // 200)], format="unix_tai")
            alt, az = pointing.at(times, clip=True)
        zen = 90.0 - alt.to_value(u.deg)
        az_r = az.to_value(u.rad)
        mean_az = np.rad2deg(np.arctan2(np.sin(az_r).mean(), np.cos(az_r).mean())) % 360.0
        return float(zen.mean()), float(zen.min()), float(zen.max()), float(mean_az)

    def __call__(self, run, location):
        """Row (dict of quantities) of the metrics of `~.events.RunEvents` ``run``."""
        elapsed, livetime, dead = self.livetime(run)
        zen, zen_min, zen_max, az = self.zenith(run)
        q = run.intensity
        cleaned = np.isfinite(q) & (q > 0)
        per_s = 1.0 / livetime if livetime > 0 else np.nan
        t0 = run.time[0] if run.n_events else np.nan
        t1 = run.time[-1] if run.n_events else np.nan
        row = {
            "obs_id": run.obs_id,
            "tel_setup": run.tel_setup,
            "telescopes": ",".join(str(t) for t in run.tel_ids),
            "file": run.path.name,
            "tstart": Time(t0, format="unix_tai").utc.isot if run.n_events else "",
            "tstop": Time(t1, format="unix_tai").utc.isot if run.n_events else "",
            "pointing_ra": (run.pointing_radec or (np.nan, np.nan))[0] * u.deg,
            "pointing_dec": (run.pointing_radec or (np.nan, np.nan))[1] * u.deg,
            "zenith": zen * u.deg,
            "zenith_min": zen_min * u.deg,
            "zenith_max": zen_max * u.deg,
            "azimuth": az * u.deg,
            "n_events": run.n_events,
            "elapsed_time": elapsed * u.s,
            "livetime": livetime * u.s,
            "dead_time_fraction": dead,
            "rate_events": run.n_events * per_s * u.Hz,
            "rate_cleaned": np.count_nonzero(cleaned) * per_s * u.Hz,
        }
        for threshold in self.intensity_thresholds:
            n = np.count_nonzero(cleaned & (q >= threshold))
            row[threshold_column(threshold)] = n * per_s * u.Hz
        levels = [pedestal_nsb(run.path, t, t0, t1) for t in run.tel_ids]
        # stereo: the worse (higher) telescope decides
        worst = max(levels, key=lambda v: -np.inf if not np.isfinite(v[0]) else v[0])
        row["nsb_level"] = worst[0]
        row["nsb_level_spread"] = worst[1]
        row["pedestal_std"] = worst[2]
        row["n_pedestal_events"] = run.n_pedestal
        row["ped_survival_fraction"] = (
            run.n_pedestal_surviving / run.n_pedestal if run.n_pedestal else np.nan
        )
        dt = run.delta_t_ns if run.delta_t_ns is not None else np.array([])
        row["n_stereo"] = len(dt) if run.delta_t_ns is not None else -1
        row["wr_dt_median"] = (np.median(dt) if len(dt) else np.nan) * u.ns
        row["wr_dt_spread"] = robust_std(dt) * u.ns
        if run.gammaness is not None:
            g = run.gammaness
            row["rate_dl2"] = np.count_nonzero(np.isfinite(g)) * per_s * u.Hz
            row["rate_gamma_like"] = np.count_nonzero(g > self.gammaness_cut) * per_s * u.Hz
        else:
            row["rate_dl2"] = np.nan * u.Hz
            row["rate_gamma_like"] = np.nan * u.Hz
        moon = (np.nan, np.nan, np.nan)
        if run.n_events and location is not None and np.isfinite(zen):
            mid = Time(0.5 * (t0 + t1), format="unix_tai")
            moon = moon_geometry(mid, location, (90.0 - zen) * u.deg, az * u.deg)
            moon = tuple(float(np.squeeze(v)) for v in moon)
        row["moon_altitude"] = moon[0] * u.deg
        row["moon_separation"] = moon[1] * u.deg
        row["moon_illumination"] = moon[2]
        return row

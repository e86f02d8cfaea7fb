"""Grouping runs into observations (wobbles) and the observation-level quantities.

Runs of one telescope setup, in time order, form one observation while the nominal pointing
stays within ``max_pointing_change`` of the observation's first run, the gap between the end
of a run and the start of the next is at most ``max_gap``, and the DL2 models (node) are the
same; ``granularity='run'`` keeps every run apart. The observation's OBS_ID is the obs_id of
its first run (so a wobble split by model node has distinct OBS_IDs).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum

from ..core.errors import SST1MInputError

__all__ = ["Observation", "ObservationGrouper", "group_runs", "merge_intervals"]


@dataclass
class Observation:
    """The runs (`~ctapipe_sst1m.dl3.events.RunData`) of one DL3 observation."""

    runs: list

    @property
    def obs_id(self):
        """OBS_ID: the obs_id of the first run."""
        return self.runs[0].obs_id

    @property
    def tel_setup(self):
        """Telescope setup of the runs."""
        return self.runs[0].tel_setup

    @property
    def run_ids(self):
        """obs_id of every run."""
        return [r.obs_id for r in self.runs]

    @property
    def gti(self):
        """(n, 2) array of good time intervals [DL3 s]: the runs, contiguous ones merged."""
        return merge_intervals([(r.start, r.stop) for r in self.runs])

    @property
    def ontime(self):
        """Sum of the GTIs [s] (gaps between runs are not counted)."""
        gti = self.gti
        return float(np.sum(gti[:, 1] - gti[:, 0]))

    def pointing_samples(self):
        """(time, alt, az) of the tracking rows inside the GTIs, time-ordered."""
        t = np.concatenate([r.pointing["time"] for r in self.runs])
        alt = np.concatenate([r.pointing["alt"] for r in self.runs])
        az = np.concatenate([r.pointing["az"] for r in self.runs])
        order = np.argsort(t)
        return t[order], alt[order], az[order]

    def mean_pointing(self):
        """Time-weighted mean (cos zenith, zenith, azimuth) [deg] over the GTIs.

        The tracking is interpolated on a 1 s grid inside every GTI (ends included), so each
        second of observation weighs the same; azimuth is a circular mean.
        """
        t, alt, az = self.pointing_samples()
        grid = np.concatenate(
            [np.linspace(a, b, max(2, int(np.ceil(b - a)) + 1)) for a, b in self.gti]
        )
        az_u = np.rad2deg(np.unwrap(np.deg2rad(az)))
        alt_g = np.interp(grid, t, alt)
        az_g = np.interp(grid, t, az_u)
        cos_zen = float(np.mean(np.sin(np.deg2rad(alt_g))))
        az_mean = np.rad2deg(
            np.arctan2(np.mean(np.sin(np.deg2rad(az_g))), np.mean(np.cos(np.deg2rad(az_g))))
        )
        return cos_zen, float(np.rad2deg(np.arccos(np.clip(cos_zen, -1, 1)))), float(az_mean % 360)


def merge_intervals(intervals):
    """Sorted (n, 2) array of the union of ``intervals`` (touching ones merged)."""
    merged = []
    for start, stop in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return np.array(merged, dtype=np.float64).reshape(-1, 2)


def group_runs(runs, max_pointing_change=0.2 * u.deg, max_gap=2 * u.s, granularity="wobble"):
    """Observations made of ``runs`` (see the module docstring)."""
    seen = {}
    for run in runs:
        key = (run.tel_setup, run.obs_id)
        if key in seen:
            raise SST1MInputError(
                f"{run.path}: run {run.obs_id} ({run.tel_setup}) is also in {seen[key]};"
                " give each run once"
            )
        seen[key] = run.path
    max_change = u.Quantity(max_pointing_change, u.deg)
    gap = u.Quantity(max_gap, u.s).to_value(u.s)
    observations = []
    for run in sorted(runs, key=lambda r: (r.tel_setup, r.start)):
        current = observations[-1] if observations else None
        if (
            granularity == "run"
            or current is None
            or current.tel_setup != run.tel_setup
            or current.runs[0].wobble.separation(run.wobble) > max_change
            or run.start - current.runs[-1].stop > gap
            or run.model_node != current.runs[0].model_node
        ):
            observations.append(Observation([run]))
        else:
            current.runs.append(run)
    return observations


class ObservationGrouper(Component):
    """Group runs into observations: per wobble (default) or per run."""

    granularity = CaselessStrEnum(
        ["wobble", "run"], default_value="wobble", help="One observation per wobble or per run."
    ).tag(config=True)
    max_pointing_change = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.physical.angle,
        help="A run whose nominal pointing is further than this from the observation's first"
        " run starts a new observation.",
    ).tag(config=True)
    max_gap = AstroQuantity(
        default_value=2 * u.s,
        physical_type=u.physical.time,
        help="A run starting more than this after the end of the previous run starts a new"
        " observation.",
    ).tag(config=True)

    def __call__(self, runs):
        """The observations of ``runs``."""
        return group_runs(runs, self.max_pointing_change, self.max_gap, self.granularity)

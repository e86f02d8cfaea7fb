"""Telescope clocks, dead time and event numbering of the toy observation nights.

Three eras of the SST-1M timing (the same dates as `ctapipe_sst1m.stereo.matcher_name_for_date`):

* ``pre-wr`` (before 2023-09-25): each camera stamps events with its own free-running clock.
  Per run, the clock of every telescope is off by an unknown constant (uniform within
  ``pre_wr_offset_range``) plus a Gaussian jitter per event, so only an offset scan
  (``SlidingWindow``) finds the coincidences.
* ``wr`` (from 2023-09-25): White-Rabbit disciplined ns time stamps; a fixed per-telescope
  offset (cables, trigger latency) and a ns jitter. Event ids are each camera's own counter.
* ``swat`` (from 2024-01-30): as ``wr``, and the SWAT array trigger gives coincident events the
  same array event number, which becomes the ``event_id`` of both telescopes.

Dead time is non-paralysable: after an accepted trigger (shower or interleaved pedestal) a
telescope ignores triggers for ``dead_time``. All times are integer ns (TAI since 1970).
"""

from datetime import date

import astropy.units as u
import numpy as np
from ctapipe.core import TelescopeComponent
from ctapipe.core.traits import AstroQuantity, FloatTelescopeParameter
from numba import njit

from ..stereo.matching import ERA_SWAT, ERA_WHITE_RABBIT

__all__ = [
    "ERAS",
    "TelescopeClocks",
    "apply_dead_time",
    "era_for_date",
    "swat_event_ids",
]

#: The timing eras, oldest first.
ERAS = ("pre-wr", "wr", "swat")


def era_for_date(night):
    """The timing era of a night (``datetime.date``) by the SST-1M dates."""
    if night < ERA_WHITE_RABBIT:
        return "pre-wr"
    if night < ERA_SWAT:
        return "wr"
    return "swat"


def era_start(era):
    """First date of an era (None for ``pre-wr``)."""
    return {"pre-wr": None, "wr": ERA_WHITE_RABBIT, "swat": ERA_SWAT}[era]


def era_matches_date(era, night):
    """True if ``sst1m-dl1-stereo --method auto`` picks the matcher of ``era`` for ``night``."""
    return era_for_date(night) == era


@njit(cache=True)
def _dead_time_mask(times, dead):
    keep = np.zeros(times.shape[0], dtype=np.bool_)
    free_at = np.iinfo(np.int64).min
    for i in range(times.shape[0]):
        if times[i] >= free_at:
            keep[i] = True
            free_at = times[i] + dead
    return keep


def apply_dead_time(times_ns, dead_time_ns):
    """Mask of the triggers a non-paralysable dead time accepts (``times_ns`` sorted)."""
    times_ns = np.ascontiguousarray(times_ns, dtype=np.int64)
    if len(times_ns) > 1 and np.any(np.diff(times_ns) < 0):
        raise ValueError("apply_dead_time needs time-sorted triggers")
    return _dead_time_mask(times_ns, np.int64(dead_time_ns))


def swat_event_ids(shower_ids, first_id):
    """SWAT array event numbers: one per distinct shower, in order of first appearance.

    Parameters
    ----------
    shower_ids : array of int
        Shower of every accepted trigger of either telescope, sorted by time.
    first_id : int
        Number given to the first array event.

    Returns
    -------
    ids : array of int64 (same length), next_id : int
    """
    shower_ids = np.asarray(shower_ids, dtype=np.int64)
    unique, first_pos, inverse = np.unique(shower_ids, return_index=True, return_inverse=True)
    order = np.argsort(first_pos, kind="stable")
    rank = np.empty(len(unique), dtype=np.int64)
    rank[order] = np.arange(len(unique))
    return first_id + rank[inverse], int(first_id + len(unique))


class TelescopeClocks(TelescopeComponent):
    """Time stamps of the cameras: per-telescope offset and jitter by era, and dead time."""

    dead_time = AstroQuantity(
        default_value=20.0 * u.us,
        physical_type=u.s,
        help=(
            "Non-paralysable dead time after every accepted trigger (shower or pedestal). "
            "20 µs is an assumption of the toy, not a measured DigiCam value."
        ),
    ).tag(config=True)
    wr_offset = FloatTelescopeParameter(
        default_value=[("type", "*", 0.0), ("id", 22, 250.0)],
        help=(
            "Constant offset in ns of each telescope's White-Rabbit time stamps (cable and "
            "trigger latency), in the wr and swat eras."
        ),
    ).tag(config=True)
    wr_jitter = AstroQuantity(
        default_value=5.0 * u.ns,
        physical_type=u.s,
        help="Gaussian jitter of the White-Rabbit time stamps of every event.",
    ).tag(config=True)
    pre_wr_offset_range = AstroQuantity(
        default_value=5.0 * u.ms,
        physical_type=u.s,
        help=(
            "Pre-White-Rabbit era: every run, each telescope clock is off by a constant drawn "
            "uniformly within plus/minus this value (unknown to the analysis)."
        ),
    ).tag(config=True)
    pre_wr_jitter = AstroQuantity(
        default_value=2.0 * u.us,
        physical_type=u.s,
        help="Pre-White-Rabbit era: Gaussian jitter of the camera clock stamps of every event.",
    ).tag(config=True)

    @property
    def dead_time_ns(self):
        """Dead time in integer ns."""
        return int(round(self.dead_time.to_value(u.ns)))

    def run_offsets(self, rng, era, tel_ids):
        """Clock offset [ns] of each telescope for one run: {tel_id: int}."""
        if era == "pre-wr":
            half = self.pre_wr_offset_range.to_value(u.ns)
            return {t: int(round(rng.uniform(-half, half))) for t in tel_ids}
        return {t: int(round(self.wr_offset.tel[t])) for t in tel_ids}

    def stamp(self, rng, era, true_ns, offset_ns):
        """Recorded time stamps [ns] of true trigger times ``true_ns`` of one telescope."""
        jitter = self.pre_wr_jitter if era == "pre-wr" else self.wr_jitter
        sigma = jitter.to_value(u.ns)
        noise = np.rint(sigma * rng.standard_normal(len(true_ns))).astype(np.int64)
        return np.asarray(true_ns, dtype=np.int64) + np.int64(offset_ns) + noise


def night_date(text):
    """``datetime.date`` from ``YYYY-MM-DD`` (ValueError otherwise)."""
    return date.fromisoformat(str(text))

"""Event matchers: find the coincident events of two telescopes recorded in separate streams.

Each matcher is a ctapipe ``Component`` called on two astropy tables that have a ``time``
column (astropy ``Time``) and an ``event_id`` column; it returns the matched row indices of
both tables (equal length, sorted by the first table's rows) and keeps the details of the last
call in :attr:`EventMatcher.diagnostics`::

    i1, i2 = WhiteRabbitClosest()(table_tel1, table_tel2)

Three methods cover the SST-1M eras (:func:`matcher_name_for_date`):

* :class:`SlidingWindow` – clocks not synchronised: scan a time offset, then pair;
* :class:`WhiteRabbitClosest` – White Rabbit ns time stamps: nearest event within a window;
* :class:`SWATEventIDs` – the SWAT array trigger gives both events the same ``event_id``.

The components know nothing about SST-1M: any two telescopes can be matched (e.g. LST-1 and
MAGIC), with a nominal time offset per telescope pair (:attr:`EventMatcher.pair_time_offsets`).
Time convention: an offset Δ means ``t2 ≈ t1 + Δ``. Durations are configured as astropy
quantities (``window_half_width: 200 us``); internally everything is integer nanoseconds.
"""

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime

import astropy.units as u
import numpy as np
from astropy.table import QTable
from astropy.time import Time
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Dict, Float, Int, Unicode

from ..core import SST1MInputError
from .core import coincidence_profile, nearest_unique_pairs, peak_width, refine_offset
from .timestamps import time_to_ns

__all__ = [
    "ERA_SWAT",
    "ERA_WHITE_RABBIT",
    "EventMatcher",
    "MatchDiagnostics",
    "MatchingInputError",
    "SWATEventIDs",
    "SlidingWindow",
    "WhiteRabbitClosest",
    "matcher_name_for_date",
    "to_ns",
]

#: First night with White Rabbit time stamps in the SST-1M data.
ERA_WHITE_RABBIT = date(2023, 9, 25)
#: First night with SWAT array event numbers (equal event ids in both telescopes).
ERA_SWAT = date(2024, 1, 30)


def to_ns(duration):
    """A duration (astropy quantity) as a whole number of nanoseconds."""
    return int(round(u.Quantity(duration).to_value(u.ns)))


class MatchingInputError(SST1MInputError):
    """The tables given to a matcher cannot be matched (missing column, bad values)."""


def matcher_name_for_date(observation_date):
    """Name of the matcher appropriate for data of the given date (the SST-1M era rules).

    Before 2023-09-25 the clocks were not synchronised (``SlidingWindow``); from then on White
    Rabbit time stamps exist (``WhiteRabbitClosest``); from 2024-01-30 SWAT assigns common event
    ids (``SWATEventIDs``).

    Parameters
    ----------
    observation_date : datetime.date, datetime.datetime or astropy.time.Time
    """
    if isinstance(observation_date, Time):
        observation_date = observation_date.utc.to_datetime()
    if isinstance(observation_date, datetime):
        observation_date = observation_date.date()
    if observation_date < ERA_WHITE_RABBIT:
        return "SlidingWindow"
    if observation_date < ERA_SWAT:
        return "WhiteRabbitClosest"
    return "SWATEventIDs"


@dataclass
class MatchDiagnostics:
    """What a matcher did on its last call (counts, offset, Δt of the pairs, scan profile)."""

    method: str
    n_events_1: int
    n_events_2: int
    n_pairs: int
    n_ambiguous: int
    offset_ns: int
    #: pairs refused by a consistency check (SWATEventIDs time check)
    n_rejected: int = 0
    #: t2 - t1 - offset of every pair, in ns
    delta_t_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: coincidence profile (SlidingWindow): offsets in ns and the pair count per offset
    profile_offsets_ns: np.ndarray | None = None
    profile_counts: np.ndarray | None = None
    #: largest |t2 - t1 - offset| accepted for a pair, in ns (None: no time window)
    pair_half_width_ns: int | None = None

    @property
    def n_unmatched_1(self):
        """Events of stream 1 without partner."""
        return self.n_events_1 - self.n_pairs

    @property
    def n_unmatched_2(self):
        """Events of stream 2 without partner."""
        return self.n_events_2 - self.n_pairs

    def summary(self):
        """Scalar diagnostics as a plain dict (for logs and HDF5 attributes)."""
        return {
            "method": self.method,
            "offset_ns": int(self.offset_ns),
            "n_events_1": int(self.n_events_1),
            "n_events_2": int(self.n_events_2),
            "n_pairs": int(self.n_pairs),
            "n_unmatched_1": int(self.n_unmatched_1),
            "n_unmatched_2": int(self.n_unmatched_2),
            "n_ambiguous": int(self.n_ambiguous),
            "n_rejected": int(self.n_rejected),
            "pair_half_width_ns": (
                -1 if self.pair_half_width_ns is None else int(self.pair_half_width_ns)
            ),
        }

    def profile_table(self):
        """The coincidence profile as a table (``offset`` [ns], ``n_pairs``), or None."""
        if self.profile_offsets_ns is None:
            return None
        return QTable(
            {
                "offset": u.Quantity(self.profile_offsets_ns, u.ns),
                "n_pairs": self.profile_counts,
            }
        )


def _column_ns(table, column, what):
    if column not in table.colnames:
        raise MatchingInputError(
            f"{what} has no column '{column}' (columns: {', '.join(table.colnames)})"
        )
    values = table[column]
    if isinstance(values, Time):
        return np.atleast_1d(time_to_ns(values))
    if np.issubdtype(np.asarray(values).dtype, np.integer):
        return np.asarray(values, dtype=np.int64)
    raise MatchingInputError(
        f"{what} column '{column}' must be an astropy Time or integer nanoseconds"
    )


class EventMatcher(Component):
    """Base class of the event matchers (see the module documentation).

    Subclasses implement :meth:`match_ns` on integer-nanosecond time stamps.
    """

    time_column = Unicode(
        "time", help="Name of the table column holding the event time stamp (astropy Time)."
    ).tag(config=True)
    event_id_column = Unicode(
        "event_id", help="Name of the table column holding the event identifier."
    ).tag(config=True)
    time_offset = AstroQuantity(
        default_value=0 * u.ns,
        physical_type=u.s,
        help=(
            "Nominal time offset t2 - t1 between the two streams (a duration, e.g. '2.5 us'), "
            "used when no entry of pair_time_offsets applies (a cable or trigger latency)."
        ),
    ).tag(config=True)
    pair_time_offsets = Dict(
        value_trait=AstroQuantity(physical_type=u.s),
        default_value={},
        help=(
            "Nominal time offset t2 - t1 per telescope pair, keyed 'TEL1,TEL2' "
            "(e.g. {'1,2001': '-2.5 us'}); the reversed pair uses the negated value."
        ),
    ).tag(config=True)

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.diagnostics = None

    def nominal_offset_ns(self, tel_ids=None):
        """Nominal offset t2 - t1 in ns for the telescope pair ``tel_ids`` (or the default)."""
        if tel_ids is not None:
            a, b = (int(t) for t in tel_ids)
            for key, value in self.pair_time_offsets.items():
                pair = tuple(int(x) for x in str(key).replace(" ", "").split(","))
                if pair == (a, b):
                    return to_ns(value)
                if pair == (b, a):
                    return -to_ns(value)
        return to_ns(self.time_offset)

    def __call__(self, table1, table2, tel_ids=None):
        """Match two event tables; returns the matched row indices ``(i1, i2)``.

        Parameters
        ----------
        table1, table2 : astropy.table.Table
            Events of the two telescopes with time and event-id columns.
        tel_ids : tuple of int, optional
            The telescope pair, used to look up its nominal time offset.
        """
        t1 = _column_ns(table1, self.time_column, "table 1")
        t2 = _column_ns(table2, self.time_column, "table 2")
        offset = self.nominal_offset_ns(tel_ids)
        i1, i2, diagnostics = self.match_ns(t1, t2, offset, table1, table2)
        diagnostics.delta_t_ns = t2[i2] - t1[i1] - diagnostics.offset_ns
        self.diagnostics = diagnostics
        self.log.info(
            "%s: %d pairs (offset %d ns), unmatched %d / %d, ambiguous %d",
            diagnostics.method,
            diagnostics.n_pairs,
            diagnostics.offset_ns,
            diagnostics.n_unmatched_1,
            diagnostics.n_unmatched_2,
            diagnostics.n_ambiguous,
        )
        return i1, i2

    @abstractmethod
    def match_ns(self, t1, t2, offset_ns, table1, table2):
        """Match integer-ns streams; returns ``(i1, i2, MatchDiagnostics)``."""

    def _diagnostics(self, t1, t2, i1, n_ambiguous, offset, **kwargs):
        return MatchDiagnostics(
            method=self.__class__.__name__,
            n_events_1=len(t1),
            n_events_2=len(t2),
            n_pairs=len(i1),
            n_ambiguous=n_ambiguous,
            offset_ns=offset,
            **kwargs,
        )


class WhiteRabbitClosest(EventMatcher):
    """Nearest event in White Rabbit time, within ``max_time_diff``; partners used once.

    For data with synchronised (White Rabbit) ns time stamps. Each telescope-1 event is paired
    with the closest telescope-2 event after applying the nominal offset; a telescope-2 event
    claimed by several events goes to the closest one and the others take their next-nearest
    free partner. Exact ties are resolved deterministically and counted as ambiguous.
    """

    max_time_diff = AstroQuantity(
        default_value=10 * u.us,
        physical_type=u.s,
        help="Largest accepted absolute time difference of a pair after the offset (a duration).",
    ).tag(config=True)

    def match_ns(self, t1, t2, offset_ns, table1=None, table2=None):
        """Match integer-ns streams; returns ``(i1, i2, MatchDiagnostics)``."""
        max_diff = to_ns(self.max_time_diff)
        i1, i2, n_ambiguous = nearest_unique_pairs(t1 + offset_ns, t2, max_diff)
        return (
            i1,
            i2,
            self._diagnostics(t1, t2, i1, n_ambiguous, offset_ns, pair_half_width_ns=max_diff),
        )


class SlidingWindow(EventMatcher):
    """Offset scan for unsynchronised clocks, then nearest-event pairing inside the window.

    The number of event pairs closer than ``window_half_width`` is computed for every trial
    offset between ``offset_start`` and ``offset_stop`` (exclusive) in steps of
    ``offset_step`` (all relative to the nominal offset). The offset is the centre of the
    maximum, refined by the count-weighted mean of the profile around it (background
    subtracted). Optionally a first scan on the ``pre_search_n_events`` brightest events of each
    stream narrows the full scan to ±3 half widths around its peak. Events are then paired with
    the :class:`WhiteRabbitClosest` rule, first within the half width; the pairs' time
    differences then give the width σ of the coincidence peak (`~.core.peak_width`: clock
    jitter and drift, whatever they are; raised by two standard errors of its estimate, a
    factor 1 + 2.3/√n for n pairs) and the events are paired again within ``pair_n_sigma`` σ
    (between ``min_pair_half_width`` and the half width), which keeps accidental pairs of
    mono events as rare as the clocks allow. ``pair_half_width`` fixes
    that window instead.
    """

    window_half_width = AstroQuantity(
        default_value=1 * u.ms,
        physical_type=u.s,
        help=(
            "Half width of the coincidence window of the offset scan and of the first pairing "
            "(a duration); the largest pairing window."
        ),
    ).tag(config=True)
    pair_half_width = AstroQuantity(
        default_value=None,
        allow_none=True,
        physical_type=u.s,
        help=(
            "Half width of the final pairing window (a duration); None: adaptive, pair_n_sigma "
            "times the measured width of the coincidence peak."
        ),
    ).tag(config=True)
    pair_n_sigma = Float(
        5.0,
        min=1.0,
        help="Adaptive pairing window: half width in units of the coincidence peak's width.",
    ).tag(config=True)
    min_pair_half_width = AstroQuantity(
        default_value=1 * u.us,
        physical_type=u.s,
        help="Smallest adaptive pairing half width (a duration).",
    ).tag(config=True)
    adaptive_min_pairs = Int(
        10,
        min=1,
        help=(
            "Fewest candidate pairs from which the peak width is measured; with fewer, the "
            "events are paired within window_half_width."
        ),
    ).tag(config=True)
    offset_start = AstroQuantity(
        default_value=-10 * u.ms,
        physical_type=u.s,
        help="First trial offset t2 - t1 of the scan (a duration).",
    ).tag(config=True)
    offset_stop = AstroQuantity(
        default_value=10 * u.ms,
        physical_type=u.s,
        help="End of the offset scan, exclusive (a duration).",
    ).tag(config=True)
    offset_step = AstroQuantity(
        default_value=20 * u.us, physical_type=u.s, help="Step of the offset scan (a duration)."
    ).tag(config=True)
    refine_half_widths = Float(
        2.0,
        help=(
            "The offset is refined by the count-weighted mean of the profile within this many "
            "window half widths around the maximum."
        ),
    ).tag(config=True)
    pre_search_n_events = Int(
        0,
        help=(
            "If > 0, first scan with only this many brightest events of each stream (by "
            "intensity_column) and restrict the full scan to ±3 half widths around that peak."
        ),
    ).tag(config=True)
    pre_search_min_ratio = Float(
        0.1,
        help=(
            "Minimum fraction of the bright events that must coincide at the pre-search peak "
            "for it to be trusted; otherwise the full range is scanned."
        ),
    ).tag(config=True)
    intensity_column = Unicode(
        "hillas_intensity",
        help="Column used to select the brightest events for the pre-search.",
    ).tag(config=True)

    def scan_offsets(self):
        """Trial offsets of the full scan in ns (relative to the nominal offset)."""
        return np.arange(
            to_ns(self.offset_start),
            to_ns(self.offset_stop),
            max(1, to_ns(self.offset_step)),
            dtype=np.int64,
        )

    def _pre_search(self, t1, t2, table1, table2, offsets, half_width):
        n = self.pre_search_n_events
        for table, what in ((table1, "table 1"), (table2, "table 2")):
            if table is None or self.intensity_column not in table.colnames:
                raise MatchingInputError(
                    f"{what} has no column '{self.intensity_column}' needed by "
                    "SlidingWindow.pre_search_n_events; set it to 0 or give the column"
                )
        bright_1 = np.argsort(-np.asarray(table1[self.intensity_column], dtype=float))[:n]
        bright_2 = np.argsort(-np.asarray(table2[self.intensity_column], dtype=float))[:n]
        counts = coincidence_profile(t1[bright_1], t2[bright_2], offsets, half_width)
        if counts.max() < self.pre_search_min_ratio * min(len(bright_1), len(bright_2)):
            self.log.warning(
                "pre-search peak has only %d of %d bright events; scanning the full range",
                counts.max(),
                n,
            )
            return offsets
        centre = refine_offset(offsets, counts, half_width, self.refine_half_widths)
        return offsets[np.abs(offsets - centre) <= 3 * half_width]

    def match_ns(self, t1, t2, offset_ns, table1=None, table2=None):
        """Match integer-ns streams; returns ``(i1, i2, MatchDiagnostics)``."""
        half_width = to_ns(self.window_half_width)
        offsets = self.scan_offsets()
        if len(offsets) == 0:
            raise MatchingInputError("SlidingWindow offset scan is empty: check start/stop/step")
        shifted = t1 + offset_ns
        if self.pre_search_n_events > 0:
            offsets = self._pre_search(shifted, t2, table1, table2, offsets, half_width)
        counts = coincidence_profile(shifted, t2, offsets, half_width)
        if counts.max() == 0:
            best = 0
            self.log.warning("no coincidence at any trial offset")
        else:
            best = refine_offset(offsets, counts, half_width, self.refine_half_widths)
        total_offset = offset_ns + best
        i1, i2, n_ambiguous = nearest_unique_pairs(t1 + total_offset, t2, half_width)
        pair_half_width = half_width
        if len(i1):
            # the scan grid limits the offset to about a step; the centre of the pairs' time
            # differences is far more precise, so pair once more at that offset, within the
            # window the width of the coincidence peak calls for
            delta = t2[i2] - t1[i1] - total_offset
            pair_half_width, centre = self._pairing_window(delta, half_width)
            total_offset += int(np.rint(centre))
            i1, i2, n_ambiguous = nearest_unique_pairs(t1 + total_offset, t2, pair_half_width)
        return (
            i1,
            i2,
            self._diagnostics(
                t1,
                t2,
                i1,
                n_ambiguous,
                total_offset,
                profile_offsets_ns=offsets + offset_ns,
                profile_counts=counts,
                pair_half_width_ns=pair_half_width,
            ),
        )

    def _pairing_window(self, delta, half_width):
        """Final pairing half width and the centre of the peak [ns] from the first pairs."""
        if self.pair_half_width is not None:
            return to_ns(self.pair_half_width), float(np.median(delta))
        if len(delta) < self.adaptive_min_pairs:
            self.log.warning(
                "only %d candidate pairs: pairing within the full half width %d ns",
                len(delta),
                half_width,
            )
            return half_width, float(np.median(delta))
        sigma, centre = peak_width(delta, half_width)
        # upper bound (two standard errors of the scaled MAD, 1.17 σ / √n) for few pairs
        sigma *= 1 + 2 * 1.17 / np.sqrt(len(delta))
        window = int(np.clip(np.ceil(self.pair_n_sigma * sigma), 0, half_width))
        window = max(window, min(to_ns(self.min_pair_half_width), half_width))
        self.log.info("coincidence peak width %.0f ns: pairing within ±%d ns", sigma, window)
        return window, centre


class SWATEventIDs(EventMatcher):
    """Equal event ids (SWAT array event number), guarded by a time-consistency check.

    Events with the same ``event_id`` are paired (if an id occurs several times, e.g. after a
    counter reset, the nearest in time within the same id). A pair is kept only if its time
    difference agrees with the median difference of all equal-id pairs within
    ``max_time_diff``, so that a counter reset can never pair unrelated events.
    """

    max_time_diff = AstroQuantity(
        default_value=1 * u.ms,
        physical_type=u.s,
        help=(
            "Largest accepted deviation of a pair's time difference from the median "
            "difference of all equal-id pairs (a duration)."
        ),
    ).tag(config=True)

    def match_ns(self, t1, t2, offset_ns, table1, table2):
        """Match integer-ns streams; returns ``(i1, i2, MatchDiagnostics)``."""
        ids1 = _event_ids(table1, self.event_id_column, "table 1")
        ids2 = _event_ids(table2, self.event_id_column, "table 2")
        shifted = t1 + offset_ns
        i1, i2, n_ambiguous = nearest_unique_pairs(
            shifted, t2, np.iinfo(np.int64).max // 4, group1=ids1, group2=ids2
        )
        offset = offset_ns
        n_rejected = 0
        if len(i1):
            delta = t2[i2] - shifted[i1]
            median = int(np.median(delta))
            good = np.abs(delta - median) <= to_ns(self.max_time_diff)
            n_rejected = int(np.count_nonzero(~good))
            i1, i2 = i1[good], i2[good]
            offset = offset_ns + median
        return (
            i1,
            i2,
            self._diagnostics(
                t1,
                t2,
                i1,
                n_ambiguous,
                offset,
                n_rejected=n_rejected,
                pair_half_width_ns=to_ns(self.max_time_diff),
            ),
        )


def _event_ids(table, column, what):
    if column not in table.colnames:
        raise MatchingInputError(
            f"{what} has no column '{column}' (columns: {', '.join(table.colnames)})"
        )
    return np.asarray(table[column], dtype=np.int64)

"""Pairing of single-telescope runs and of their events, for ``sst1m-dl1-stereo``.

Plain functions on :class:`~ctapipe_sst1m.stereo.stereo_file.TelescopeDL1` runs, testable
without a Tool:

* :func:`read_runs` reads the runs given for one telescope and checks them;
* :func:`telescope_pair` checks that the two lists hold one telescope each, two different ones;
* :func:`select_partners` finds the telescope-2 runs that overlap a telescope-1 run in time and
  pointing;
* :func:`matcher_name` resolves ``auto`` by the era rules;
* :func:`match_run` matches the events of one telescope-1 run against its partners and returns
  the subarray events of the run (:class:`~ctapipe_sst1m.stereo.stereo_file.StereoEvents`).

Every refusal is a `StereoInputError` (one line naming the file and the fix).
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, SkyCoord
from astropy.table import Table

from ..io.clock import tai_ns_to_time
from .matching import ERA_WHITE_RABBIT, SlidingWindow, matcher_name_for_date
from .stereo_file import (
    StereoEvents,
    StereoInputError,
    expand_paths,
    read_parameters,
    read_telescope_dl1,
)

__all__ = [
    "check_trigger_times",
    "match_run",
    "matcher_name",
    "read_runs",
    "select_partners",
    "telescope_pair",
]


def check_trigger_times(tel):
    """Raise `StereoInputError` if a run has no usable trigger times (all ≤ 0 or all equal)."""
    t = tel.time_ns
    if len(t) > 1 and (np.all(t <= 0) or np.all(t == t[0])):
        raise StereoInputError(
            f"{tel.path.name}: trigger times are missing (all {t[0]} ns), which every "
            "matcher needs; re-run the DL1 step with the (White Rabbit) time stamps"
        )


def read_runs(patterns, option, progress=lambda paths, desc: paths):
    """Read and check the runs of one telescope given by files, directories or globs.

    Parameters
    ----------
    patterns : list of str
        What the user passed to ``option``.
    option : str
        The option name for messages (``--tel1``).
    progress : callable
        Wraps the list of paths while they are read, called as ``progress(paths, desc=…)``
        (e.g. ``tqdm``).
    """
    paths = progress(expand_paths(patterns), desc=f"reading {option}")
    runs = [read_telescope_dl1(p) for p in paths]
    ids = sorted({run.tel_id for run in runs})
    if len(ids) != 1:
        raise StereoInputError(
            f"{option} mixes telescopes {ids}: give the files of one telescope per option"
        )
    for run in runs:
        check_trigger_times(run)
    return runs


def telescope_pair(runs_1, runs_2):
    """The telescope ids ``(tel1, tel2)`` of two checked run lists; refused if equal."""
    tel_ids = (runs_1[0].tel_id, runs_2[0].tel_id)
    if tel_ids[0] == tel_ids[1]:
        raise StereoInputError(
            f"--tel1 and --tel2 are both telescope {tel_ids[0]} "
            f"({runs_1[0].path.name}, {runs_2[0].path.name}); "
            "give the files of the other telescope to --tel2"
        )
    return tel_ids


def select_partners(tel1, candidates, tolerance, log=None):
    """Telescope-2 runs overlapping ``tel1`` in time and pointing within ``tolerance``.

    The pointing is compared at the middle of each time overlap. Runs pointing farther away
    are skipped with a warning on ``log``; `StereoInputError` if no run remains.
    """
    tolerance = u.Quantity(tolerance, u.deg)
    t_lo, t_hi = tel1.time_ns.min(), tel1.time_ns.max()
    overlapping = [f for f in candidates if f.time_ns.max() >= t_lo and f.time_ns.min() <= t_hi]
    if not overlapping:
        raise StereoInputError(
            f"{tel1.path.name}: no common time range with any --tel2 file (tel1 run "
            f"{tai_ns_to_time(t_lo).utc.isot} - {tai_ns_to_time(t_hi).utc.isot}); "
            "give the telescope-2 runs of the same night"
        )
    selected, worst = [], 0.0 * u.deg
    for f in overlapping:
        mid = np.array([(max(t_lo, f.time_ns.min()) + min(t_hi, f.time_ns.max())) // 2])
        a = SkyCoord(*reversed(tel1.pointing_at(mid)), frame=AltAz())
        b = SkyCoord(*reversed(f.pointing_at(mid)), frame=AltAz())
        separation = a.separation(b)[0].to(u.deg)
        if separation <= tolerance:
            selected.append(f)
            continue
        worst = max(worst, separation)
        if log is not None:
            log.warning("%s: pointing differs by %.2f deg, skipped", f.path.name, separation.value)
    if not selected:
        raise StereoInputError(
            f"{tel1.path.name}: the overlapping --tel2 runs point {worst.value:.2f} deg away "
            f"(> {tolerance.value:g} deg); they observed a different position"
        )
    return selected


def matcher_name(method, tel1, log=None):
    """The matcher class name for ``tel1``: ``method`` itself, or by date if ``auto``."""
    first_time = tai_ns_to_time(tel1.time_ns.min())
    name = method
    if name == "auto":
        name = matcher_name_for_date(first_time)
        if log is not None:
            log.info("%s: method %s chosen by date", tel1.path.name, name)
    if name == "WhiteRabbitClosest" and first_time.utc.to_datetime().date() < ERA_WHITE_RABBIT:
        raise StereoInputError(
            f"{tel1.path.name}: no White Rabbit time stamps before "
            f"{ERA_WHITE_RABBIT}; use --method SlidingWindow"
        )
    return name


def _event_table(runs):
    return Table(
        {
            "time": np.concatenate([run.time_ns for run in runs]),
            "event_id": np.concatenate([np.asarray(run.trigger["event_id"]) for run in runs]),
        }
    )


def match_run(index, tel1, runs_2, partners, matcher, tel_ids, keep_mono=False, used_2=None):
    """Match one telescope-1 run against its partner runs.

    Parameters
    ----------
    index : int
        Position of ``tel1`` in the telescope-1 run list.
    tel1 : TelescopeDL1
    runs_2 : list of TelescopeDL1
        All telescope-2 runs (file indices of the output refer to this list).
    partners : list of TelescopeDL1
        The runs of ``runs_2`` to match against (:func:`select_partners`).
    matcher : EventMatcher
    tel_ids : (int, int)
    keep_mono : bool
        Also return the unmatched events of both telescopes (within the run's time range).
    used_2 : set or None
        ``(file, row)`` of telescope-2 events already written (updated); an event of a
        telescope-2 run shared by two telescope-1 runs is written only once.

    Returns
    -------
    events : StereoEvents
    diagnostics : (obs_id, MatchDiagnostics)
    """
    used_2 = set() if used_2 is None else used_2
    file_2 = np.concatenate(
        [np.full(len(f.time_ns), runs_2.index(f), dtype=np.int64) for f in partners]
    )
    row_2 = np.concatenate([np.arange(len(f.time_ns)) for f in partners])
    table1, table2 = _event_table([tel1]), _event_table(partners)
    if isinstance(matcher, SlidingWindow) and matcher.pre_search_n_events > 0:
        table1["hillas_intensity"] = read_parameters(tel1)["hillas_intensity"]
        table2["hillas_intensity"] = np.concatenate(
            [read_parameters(f)["hillas_intensity"] for f in partners]
        )
    i1, i2 = matcher(table1, table2, tel_ids=tel_ids)
    t1, t2 = tel1.time_ns, np.asarray(table2["time"])

    # (time, file 1, row 1, file 2, row 2), -1 where a telescope is absent
    rows = [_rows(t1[i1], index, i1, file_2[i2], row_2[i2])]
    used_2.update(zip(file_2[i2].tolist(), row_2[i2].tolist(), strict=True))
    if keep_mono:
        single_1 = np.setdiff1d(np.arange(len(t1)), i1)
        rows.append(_rows(t1[single_1], index, single_1, -1, -1))
        in_range = np.nonzero((t2 >= t1.min()) & (t2 <= t1.max()))[0]
        single_2 = [
            b for b in np.setdiff1d(in_range, i2) if (int(file_2[b]), int(row_2[b])) not in used_2
        ]
        used_2.update((int(file_2[b]), int(row_2[b])) for b in single_2)
        single_2 = np.asarray(single_2, dtype=np.int64)
        rows.append(_rows(t2[single_2], -1, -1, file_2[single_2], row_2[single_2]))
    rows = np.concatenate(rows).astype(np.int64)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    obs_id = int(tel1.obs_ids[0])
    events = StereoEvents(
        obs_id=obs_id,
        file_index=rows[:, [1, 3]].copy(),
        row_index=rows[:, [2, 4]].copy(),
        time_ns=rows[:, 0].copy(),
    )
    return events, (obs_id, matcher.diagnostics)


def _rows(time_ns, file_1, row_1, file_2, row_2):
    """Rows ``(time, file 1, row 1, file 2, row 2)`` (scalars broadcast) as an (n, 5) array."""
    columns = np.broadcast_arrays(time_ns, file_1, row_1, file_2, row_2)
    return np.stack(columns, axis=1).astype(np.int64).reshape(-1, 5)

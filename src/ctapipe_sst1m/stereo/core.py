"""Sorted, merge-based primitives shared by the event matchers.

Everything here works on int64 nanosecond time stamps and never builds an N×M matrix:
neighbours are found with ``numpy.searchsorted`` on sorted arrays (O((N+M) log(N+M)) time,
O(N+M) memory). The functions are independent of ctapipe so other pipelines can reuse them.
"""

import numpy as np

__all__ = [
    "coincidence_profile",
    "nearest_unique_pairs",
    "peak_width",
    "refine_offset",
]

_FAR = np.iinfo(np.int64).max


def _group_keys(t1, t2, group1, group2):
    """Sort keys ordering events by (group, time) in one int64, plus the group size stride."""
    if group1 is None:
        return t1, t2, None
    n1 = len(t1)
    _, codes = np.unique(np.concatenate([group1, group2]), return_inverse=True)
    _, ranks = np.unique(np.concatenate([t1, t2]), return_inverse=True)
    stride = np.int64(len(ranks) + 1)
    keys = codes.astype(np.int64) * stride + ranks.astype(np.int64)
    return keys[:n1], keys[n1:], stride


def nearest_unique_pairs(t1, t2, max_diff, group1=None, group2=None):
    """Pair each event of stream 1 with its nearest event of stream 2, each partner used once.

    An event of stream 1 proposes its nearest stream-2 event (in time, and within the same
    group if groups are given). A stream-2 event proposed by several stream-1 events goes to
    the closest one; the others try again with the stream-2 events still free. Proposals farther
    than ``max_diff`` are never accepted. Equal distances are resolved deterministically (the
    earlier stream-2 event, the lower stream-1 index) and counted as ambiguous.

    Parameters
    ----------
    t1, t2 : array of int64
        Time stamps in ns (any origin, any order); stream 1 already shifted by the offset.
    max_diff : int
        Largest accepted ``|t2 - t1|`` in ns (inclusive).
    group1, group2 : array of int, optional
        Pairs are only formed between equal group values (e.g. event ids).

    Returns
    -------
    i1, i2 : array of int64
        Matched row indices of stream 1 and stream 2, sorted by ``i1``.
    n_ambiguous : int
        Accepted pairs whose choice involved an exact tie.
    """
    t1 = np.asarray(t1, dtype=np.int64)
    t2 = np.asarray(t2, dtype=np.int64)
    if (group1 is None) != (group2 is None):
        raise ValueError("give groups for both streams or for none")
    key1, key2, stride = _group_keys(t1, t2, group1, group2)

    remaining_1 = np.arange(len(t1), dtype=np.int64)
    remaining_2 = np.argsort(key2, kind="stable").astype(np.int64)
    taken_2 = np.zeros(len(t2), dtype=bool)
    out_1, out_2 = [], []
    n_ambiguous = 0

    while remaining_1.size and remaining_2.size:
        sorted_keys = key2[remaining_2]
        n_free = len(sorted_keys)
        query = key1[remaining_1]
        pos = np.searchsorted(sorted_keys, query, side="left")
        left = np.clip(pos - 1, 0, n_free - 1)
        right = np.clip(pos, 0, n_free - 1)
        j_left = remaining_2[left]
        j_right = remaining_2[right]

        ok_left = pos > 0
        ok_right = pos < n_free
        if stride is not None:
            group_query = query // stride
            ok_left &= sorted_keys[left] // stride == group_query
            ok_right &= sorted_keys[right] // stride == group_query
        t_query = t1[remaining_1]
        d_left = np.where(ok_left, np.abs(t2[j_left] - t_query), _FAR)
        d_right = np.where(ok_right, np.abs(t2[j_right] - t_query), _FAR)

        use_right = d_right < d_left
        dist = np.where(use_right, d_right, d_left)
        partner = np.where(use_right, j_right, j_left)
        # exact ties: both sides equally close, or a run of identical keys on the chosen side
        dup_left = (left > 0) & (sorted_keys[np.maximum(left - 1, 0)] == sorted_keys[left])
        dup_right = (right < n_free - 1) & (
            sorted_keys[np.minimum(right + 1, n_free - 1)] == sorted_keys[right]
        )
        tie = (d_left == d_right) | np.where(use_right, dup_right, dup_left)

        ok = dist <= max_diff
        cand_1, cand_2 = remaining_1[ok], partner[ok]
        cand_d, cand_tie = dist[ok], tie[ok]
        if cand_1.size == 0:
            break

        order = np.lexsort((cand_1, cand_d, cand_2))
        cand_1, cand_2, cand_d, cand_tie = (
            cand_1[order],
            cand_2[order],
            cand_d[order],
            cand_tie[order],
        )
        first = np.ones(len(cand_2), dtype=bool)
        first[1:] = cand_2[1:] != cand_2[:-1]
        # a partner claimed by two stream-1 events at the same distance is a tie too
        same_as_next = np.zeros(len(cand_2), dtype=bool)
        same_as_next[:-1] = (cand_2[1:] == cand_2[:-1]) & (cand_d[1:] == cand_d[:-1])
        n_ambiguous += int(np.count_nonzero(first & (cand_tie | same_as_next)))

        out_1.append(cand_1[first])
        out_2.append(cand_2[first])
        taken_2[cand_2[first]] = True
        remaining_1 = np.sort(cand_1[~first])
        remaining_2 = remaining_2[~taken_2[remaining_2]]

    if not out_1:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), 0
    i1 = np.concatenate(out_1)
    i2 = np.concatenate(out_2)
    order = np.argsort(i1, kind="stable")
    return i1[order], i2[order], n_ambiguous


def coincidence_profile(t1, t2, offsets, half_width, max_pairs_per_chunk=5_000_000):
    """Number of event pairs with ``|t2 - (t1 + offset)| <= half_width`` for every offset.

    This is the quantity scanned by a sliding-window offset search, computed without looping
    over offsets: all time differences ``t2 - t1`` inside the scanned range are collected by a
    sorted sweep (in chunks to bound memory), sorted, and counted per window with two binary
    searches.

    Parameters
    ----------
    t1, t2 : array of int64
        Time stamps in ns.
    offsets : array of int64
        Trial offsets in ns.
    half_width : int
        Half width of the coincidence window in ns (inclusive).
    max_pairs_per_chunk : int
        Upper bound on the differences held in memory at once.

    Returns
    -------
    numpy.ndarray of int64
        Pair count per offset.
    """
    t1 = np.sort(np.asarray(t1, dtype=np.int64))
    t2 = np.sort(np.asarray(t2, dtype=np.int64))
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.zeros(len(offsets), dtype=np.int64)
    if len(t1) == 0 or len(t2) == 0 or len(offsets) == 0:
        return counts
    lowest = offsets.min() - half_width
    highest = offsets.max() + half_width
    lo = np.searchsorted(t2, t1 + lowest, side="left")
    hi = np.searchsorted(t2, t1 + highest, side="right")
    n_per_event = hi - lo
    cumulative = np.cumsum(n_per_event)
    start = 0
    while start < len(t1):
        base = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, base + max_pairs_per_chunk, side="right"))
        stop = max(stop, start + 1)
        n = n_per_event[start:stop]
        total = int(n.sum())
        if total:
            first_of_event = np.repeat(np.cumsum(n) - n, n)
            j = np.repeat(lo[start:stop], n) + (np.arange(total) - first_of_event)
            diffs = np.sort(t2[j] - np.repeat(t1[start:stop], n))
            counts += np.searchsorted(diffs, offsets + half_width, side="right")
            counts -= np.searchsorted(diffs, offsets - half_width, side="left")
        start = stop
    return counts


def refine_offset(offsets, counts, half_width, n_half_widths=2.0):
    """Robust offset from a coincidence profile.

    The centre of the offsets reaching the maximum count is refined by the count-weighted mean
    of the offsets within ``n_half_widths`` window half widths of it, after subtracting the
    accidental level (median of the profile) so that the flat background does not pull the
    result towards the middle of the scan.

    Returns
    -------
    int
        Offset in ns.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.float64)
    at_max = offsets[counts == counts.max()]
    centre = at_max.mean()
    near = np.abs(offsets - centre) <= n_half_widths * half_width
    weights = np.clip(counts[near] - np.median(counts), 0, None)
    if weights.sum() <= 0:
        return int(np.rint(centre))
    return int(np.rint(np.average(offsets[near].astype(np.float64), weights=weights)))


def peak_width(delta_ns, max_half_width, n_sigma=5.0, max_iterations=30):
    """Robust width of the coincidence peak in the time differences of candidate pairs.

    ``delta_ns`` are the differences t2 - t1 - offset of pairs found with a wide window
    (``max_half_width``): a narrow peak of true coincidences (clock jitter, drift) on a flat
    floor of accidental pairs. The scaled median absolute deviation is computed within a
    window that is shrunk to ``n_sigma`` times it until it is stable; a flat floor alone has a
    deviation of a quarter of the window width and never shrinks it.

    Returns
    -------
    sigma : float
        Gaussian-equivalent width of the peak in ns (NaN without differences).
    centre : float
        Median of the differences inside the final window, in ns.
    """
    d = np.asarray(delta_ns, dtype=np.float64)
    limit = float(max_half_width)
    centre, sigma = 0.0, np.nan
    for _ in range(max_iterations):
        inside = d[np.abs(d - centre) <= limit]
        if len(inside) == 0:
            break
        centre = float(np.median(inside))
        sigma = 1.4826 * float(np.median(np.abs(inside - centre)))
        new_limit = min(limit, n_sigma * sigma)
        if new_limit > 0.99 * limit:
            break
        limit = new_limit
    return sigma, centre

"""Dead time and livetime from the events' time differences.

A non-paralysable camera with dead time τ after each recorded trigger records intervals
Δt = τ + Exp(λ): the shortest interval estimates τ (lstchain takes ``min Δt``, which is
biased high by about ⟨Δt⟩/n; we subtract that bias: τ̂ = min Δt − (⟨Δt⟩ − min Δt)/(n − 1), the
unbiased estimator of the shift of an exponential). The recorded rate is 1/⟨Δt⟩ and the true
rate 1/(⟨Δt⟩ − τ̂), so the live fraction is ``DEADC = 1 − τ̂/⟨Δt⟩``. The intervals of all
runs of one observation are pooled (one camera, one dead time); the statistical precision of
DEADC is about 1/n for n intervals. Intervals are taken within runs only, on every recorded
event of the setup's stream (telescope triggers for mono, stereo events for stereo), before
any event selection.

At low rates the shortest interval is set by the rate, not by the camera (its spread is
about ⟨Δt⟩/n): the estimate is therefore capped at ``max_dead_time`` (default 1 ms, far above
a camera's dead time, far below the intervals of a sparse stream), which bounds the error of
DEADC by ``max_dead_time``/⟨Δt⟩.
"""

import numpy as np

__all__ = ["dead_time_estimate", "deadc"]


def dead_time_estimate(times_per_run):
    """(τ̂ [s], ⟨Δt⟩ [s], n intervals) from the sorted trigger times of each run."""
    gaps = [np.diff(np.asarray(t, dtype=np.float64)) for t in times_per_run]
    gaps = np.concatenate([g[g > 0] for g in gaps]) if gaps else np.zeros(0)
    n = len(gaps)
    if n < 2:
        return 0.0, float(gaps.mean()) if n else np.nan, n
    mean, shortest = float(gaps.mean()), float(gaps.min())
    tau = max(0.0, shortest - (mean - shortest) / (n - 1))
    return tau, mean, n


def deadc(times_per_run, dead_time=None, max_dead_time=1e-3):
    """Live fraction of an observation; ``dead_time`` [s] if known, else estimated.

    Returns (DEADC, τ used [s], number of intervals).
    """
    tau, mean, n = dead_time_estimate(times_per_run)
    tau = min(tau, max_dead_time) if max_dead_time is not None else tau
    if dead_time is not None:
        tau = float(dead_time)
    if n == 0 or not np.isfinite(mean) or mean <= 0:
        return 1.0, tau, n
    return float(np.clip(1.0 - tau / mean, 0.0, 1.0)), tau, n

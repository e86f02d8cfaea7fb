"""Diagnostic figure of the event matching: coincidence profile and Δt histogram per run."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_matching"]


def plot_matching(diagnostics, path, tel_ids):
    """Write a PNG with, per matched run, the offset scan (if any) and the Δt histogram.

    Parameters
    ----------
    diagnostics : list of (obs_id, MatchDiagnostics)
    path : path of the PNG
    tel_ids : (int, int)
    """
    n = len(diagnostics)
    fig, axes = plt.subplots(n, 2, figsize=(10, 3.2 * n), squeeze=False, layout="constrained")
    for (obs_id, diag), (ax_profile, ax_dt) in zip(diagnostics, axes, strict=True):
        if diag.profile_offsets_ns is not None:
            ax_profile.plot(diag.profile_offsets_ns * 1e-3, diag.profile_counts, lw=1)
            ax_profile.axvline(diag.offset_ns * 1e-3, color="C1", ls="--", label="offset")
            ax_profile.set_xlabel(f"trial offset t{tel_ids[1]} - t{tel_ids[0]} [µs]")
            ax_profile.set_ylabel("coincident pairs")
            ax_profile.legend()
        else:
            ax_profile.axis("off")
            ax_profile.text(0.5, 0.5, f"{diag.method}: no offset scan", ha="center")
        ax_profile.set_title(f"obs {obs_id}: {diag.method}, offset {diag.offset_ns} ns")
        dt = np.asarray(diag.delta_t_ns, dtype=float)
        if len(dt):
            ax_dt.hist(dt, bins=min(100, max(10, len(dt) // 20)))
        ax_dt.set_xlabel("Δt of pairs after offset [ns]")
        ax_dt.set_ylabel("pairs")
        ax_dt.set_title(
            f"{diag.n_pairs} pairs, unmatched {diag.n_unmatched_1}/{diag.n_unmatched_2}, "
            f"ambiguous {diag.n_ambiguous}"
        )
    fig.savefig(path, format="png", dpi=80)
    plt.close(fig)

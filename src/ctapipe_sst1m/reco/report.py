"""PNG report of a training: energy and angular performance, ROC curves, feature importances.

What is drawn is what ``performance.json`` holds: bins with fewer test events than the
evaluation's minimum are null there and have no point here; every point has its bootstrap
error bar, and the number of test events per bin is shown in its own panel.
"""

from pathlib import Path

import numpy as np

from ..compat import models_of
from ..core import atomic_savefig

__all__ = ["curve_label", "write_report"]

_KIND_TITLES = {
    "energy": "energy regressor",
    "disp": "disp norm regressor",
    "classifier": "gamma/hadron classifier",
}


def _pyplot():
    # matplotlib is imported when a report is drawn, not when the package is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curve_label(mode, key):
    """Legend label of one performance curve: ``tel 1 (mono)`` or ``stereo``."""
    if key.startswith("tel_"):
        return f"tel {int(key[4:])} ({mode})"
    return key if key == mode else f"{mode} {key}"


def _centers(edges):
    edges = np.asarray(edges, float)
    return np.sqrt(edges[:-1] * edges[1:])


def _values(values):
    return np.array([np.nan if v is None else v for v in values], float)


def _performance_figure(plt, performance):
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), layout="constrained", sharex=True)
    panels = [
        (axes[0, 0], "energy_resolution", "energy resolution (half 16–84 % width of ΔE/E)"),
        (axes[0, 1], "energy_bias", "energy bias (median of ΔE/E)"),
        (axes[1, 0], "angular_resolution_68_deg", "68 % containment radius [deg]"),
    ]
    errors = {
        "energy_resolution": "energy_resolution_err",
        "energy_bias": "energy_bias_err",
        "angular_resolution_68_deg": "angular_resolution_68_err_deg",
    }
    counts_ax = axes[1, 1]
    min_events = None
    curves = [
        (mode, key, performance[mode][key])
        for mode in performance
        for key in sorted(performance[mode])
    ]
    n_curves = max(len(curves), 1)
    filled = []
    for i, (mode, key, m) in enumerate(curves):
        edges = np.asarray(m["energy_bins_tev"], float)
        x = _centers(edges)
        # shift the curves a little in log E so that their error bars do not overlap
        shift = 10 ** (0.02 * (i - (n_curves - 1) / 2))
        label = curve_label(mode, key)
        min_events = m.get("min_events_per_bin", min_events)
        color = f"C{i}"
        if not np.isfinite(_values(m["energy_resolution"])).any():
            label += " (no bin filled enough)"
        for ax, name, _ in panels:
            y = _values(m[name])
            err = _values(m.get(errors[name], [None] * len(y)))
            shown = np.isfinite(y)
            ax.errorbar(
                x[shown] * shift,
                y[shown],
                yerr=np.where(np.isfinite(err), err, 0)[shown],
                fmt="o-",
                ms=4,
                capsize=2,
                color=color,
                label=label,
            )
        counts = np.asarray(m["n_events_per_bin"], float)
        counts_ax.stairs(counts, edges, color=color, label=label, lw=1.5)
        nonzero = np.flatnonzero(counts > 0)
        if len(nonzero):
            filled += [edges[nonzero[0]], edges[nonzero[-1] + 1]]
    for ax, _, ylabel in panels:
        ax.set_ylabel(ylabel)
    axes[0, 0].set_ylim(bottom=0)
    axes[1, 0].set_ylim(bottom=0)
    axes[0, 1].axhline(0, color="k", lw=0.8, ls=":")
    if min_events is not None:
        counts_ax.axhline(min_events, color="k", lw=0.8, ls="--", label=f"minimum ({min_events})")
    counts_ax.set_yscale("log")
    counts_ax.set_ylabel("test gammas per bin")
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.grid(alpha=0.3, which="both")
    if filled:
        axes[0, 0].set_xlim(min(filled), max(filled))
    for ax in axes[1]:
        ax.set_xlabel("true energy [TeV]")
    axes[0, 0].legend(fontsize=8)
    counts_ax.legend(fontsize=8)
    note = f"; bins with fewer than {min_events} events not shown" if min_events else ""
    fig.suptitle(f"Performance on held-out test gammas (error bars: bootstrap{note})")
    return fig


def _roc_figure(plt, scores, performance):
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
    for label, (gammas, protons) in scores.items():
        if gammas is None or protons is None or len(protons) == 0:
            continue
        s = np.concatenate([gammas, protons])
        y = np.concatenate([np.ones(len(gammas)), np.zeros(len(protons))])
        ok = np.isfinite(s)
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        auc = performance.get(label, {}).get("auc")
        auc_text = "" if auc is None else f", AUC {auc:.3f}"
        ax.plot(fpr, tpr, label=f"{label}{auc_text} ({len(gammas)} γ, {len(protons)} p)")
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="no separation")
    ax.set_xlabel("proton efficiency (fraction of test protons kept)")
    ax.set_ylabel("gamma efficiency (fraction of test gammas kept)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.set_title("Gamma/hadron separation on held-out test events")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _importance_figure(plt, reco, mode, kind):
    models = models_of(reco)
    fig, axes = plt.subplots(
        1, len(models), figsize=(5 * len(models), 4), layout="constrained", squeeze=False
    )
    for ax, (key, model) in zip(axes[0], models.items(), strict=True):
        model = model[0] if isinstance(model, tuple) else model
        trees = getattr(model, "estimators_", None)
        if trees is None:
            continue
        imp = np.array([t.feature_importances_ for t in trees])
        order = np.argsort(imp.mean(axis=0))
        ax.barh(
            np.array(reco.features)[order], imp.mean(axis=0)[order], xerr=imp.std(axis=0)[order]
        )
        try:
            tel_ids = reco.subarray.get_tel_ids_for_type(key)
            title = "tel " + ", ".join(str(t) for t in tel_ids)
        except (KeyError, ValueError, AttributeError):
            title = str(key)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("mean decrease in impurity (bar: spread over trees)")
        ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{mode} {_KIND_TITLES.get(kind, kind)}: feature importance")
    return fig


def write_report(report_dir, performance, trained):
    """Write ``performance.png``, ``roc.png`` and ``importance_<mode>_<model>.png``."""
    plt = _pyplot()
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    written = []
    fig = _performance_figure(plt, performance)
    written.append(atomic_savefig(fig, report_dir / "performance.png", dpi=90))
    plt.close(fig)
    scores, flat = {}, {}
    for mode, (_, _, mode_scores) in trained.items():
        for key, value in mode_scores.items():
            scores[curve_label(mode, key)] = value
            flat[curve_label(mode, key)] = performance.get(mode, {}).get(key, {})
    fig = _roc_figure(plt, scores, flat)
    written.append(atomic_savefig(fig, report_dir / "roc.png", dpi=90))
    plt.close(fig)
    for mode, (recos, _, _) in trained.items():
        for kind, reco in zip(("energy", "disp", "classifier"), recos, strict=False):
            fig = _importance_figure(plt, reco, mode, kind)
            written.append(
                atomic_savefig(fig, report_dir / f"importance_{mode}_{kind}.png", dpi=80)
            )
            plt.close(fig)
    return written

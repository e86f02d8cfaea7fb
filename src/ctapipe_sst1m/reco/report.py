"""PNG report of a training: energy and angular performance, ROC curves, feature importances."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from ..core import atomic_savefig  # noqa: E402

__all__ = ["write_report"]


def _centers(edges):
    edges = np.asarray(edges, float)
    return np.sqrt(edges[:-1] * edges[1:])


def _values(values):
    return np.array([np.nan if v is None else v for v in values], float)


def _performance_figure(performance):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    for mode, entries in performance.items():
        for key, m in entries.items():
            x = _centers(m["energy_bins_tev"])
            label = f"{mode} {key}"
            axes[0].plot(x, _values(m["energy_resolution"]), "o-", label=label)
            axes[1].plot(x, _values(m["energy_bias"]), "o-", label=label)
            axes[2].plot(x, _values(m["angular_resolution_68_deg"]), "o-", label=label)
    titles = ["energy resolution", "energy bias", "68 % angular resolution [deg]"]
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("true energy [TeV]")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return fig


def _roc_figure(scores):
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    for label, (gammas, protons) in scores.items():
        if gammas is None or protons is None or len(protons) == 0:
            continue
        s = np.concatenate([gammas, protons])
        y = np.concatenate([np.ones(len(gammas)), np.zeros(len(protons))])
        ok = np.isfinite(s)
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("proton efficiency")
    ax.set_ylabel("gamma efficiency")
    ax.legend(fontsize=8)
    return fig


def _importance_figure(reco, name):
    models = reco._models
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
        ax.set_title(f"{name}: {key.name if hasattr(key, 'name') else key}", fontsize=9)
    return fig


def write_report(report_dir, performance, trained):
    """Write ``performance.png``, ``roc.png`` and ``importance_<mode>_<model>.png``."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    written = []
    fig = _performance_figure(performance)
    written.append(atomic_savefig(fig, report_dir / "performance.png", dpi=90))
    plt.close(fig)
    scores = {}
    for mode, (_, _, mode_scores) in trained.items():
        scores.update({f"{mode} {k}": v for k, v in mode_scores.items()})
    fig = _roc_figure(scores)
    written.append(atomic_savefig(fig, report_dir / "roc.png", dpi=90))
    plt.close(fig)
    for mode, (recos, _, _) in trained.items():
        for kind, reco in zip(("energy", "disp", "classifier"), recos, strict=False):
            fig = _importance_figure(reco, f"{mode} {kind}")
            written.append(
                atomic_savefig(fig, report_dir / f"importance_{mode}_{kind}.png", dpi=80)
            )
            plt.close(fig)
    return written

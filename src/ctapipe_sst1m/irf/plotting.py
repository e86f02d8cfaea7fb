"""Performance figures with the published SST-1M values drawn as references.

References (SST-1M collaboration, A&A 699, A255, 2025): stereo energy threshold 1.3 TeV,
energy resolution ≈ 10 %, 68 % angular resolution ≈ 0.10°; mono 1 TeV, ≈ 20 %, ≈ 0.18°.
Blank bins (NaN: fewer events than the minimum) are not drawn.
"""

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pyirf.spectral import CRAB_MAGIC_JHEAP2015  # noqa: E402

__all__ = [
    "REFERENCES",
    "reference_for",
    "plot_energy",
    "plot_angular",
    "plot_area",
    "plot_sensitivity",
    "plot_roc",
]

REFERENCE = "SST-1M, A&A 699, A255 (2025)"
REFERENCES = {
    "stereo": {"threshold": 1.3 * u.TeV, "energy": 0.10, "angular": 0.10 * u.deg},
    "mono": {"threshold": 1.0 * u.TeV, "energy": 0.20, "angular": 0.18 * u.deg},
}


def reference_for(tel_setup):
    """Published values of the setup (mono values for tel_021/tel_022)."""
    return REFERENCES["stereo" if tel_setup == "stereo" else "mono"]


def _x(table):
    lo, hi = table["ENERG_LO"].to_value(u.TeV), table["ENERG_HI"].to_value(u.TeV)
    c = np.sqrt(lo * hi)
    return c, np.vstack([c - lo, hi - c])


def _finish(fig, ax, path, title, legend_title=None):
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize="small", title=legend_title, title_fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_energy(table, tel_setup, path, label):
    """Energy resolution (with and without bias correction) and bias vs true energy."""
    ref = reference_for(tel_setup)
    x, xerr = _x(table)
    n = np.maximum(np.asarray(table["N_EVENTS"]), 1)
    fig, (ax, axb) = plt.subplots(
        2, 1, figsize=(6.4, 6.4), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    for col, name, fmt in (
        ("RESOLUTION", "68 % of |ΔE/E|", "o"),
        ("RESOLUTION_BIAS_CORRECTED", "bias corrected", "s"),
    ):
        y = np.asarray(table[col])
        ax.errorbar(x, y, xerr=xerr, yerr=y / np.sqrt(2 * n), fmt=fmt, ms=4, label=name)
    ax.axhline(ref["energy"], ls="--", c="k", label=f"{REFERENCE}: {ref['energy']:.0%}")
    ax.set_ylabel("energy resolution")
    ax.set_ylim(0, 0.6)
    bias = np.asarray(table["BIAS"])
    axb.errorbar(
        x,
        bias,
        xerr=xerr,
        yerr=np.asarray(table["RESOLUTION"]) / np.sqrt(n),
        fmt="o",
        ms=4,
        label="median ΔE/E",
    )
    axb.axhline(0, c="k", lw=0.8)
    axb.set_ylim(-0.4, 0.4)
    axb.set_ylabel("energy bias")
    axb.set_xlabel("true energy [TeV]")
    axb.set_xscale("log")
    axb.grid(True, which="both", alpha=0.3)
    axb.legend(fontsize="small")
    _finish(fig, ax, path, f"Energy resolution, {label}")


def plot_angular(table, tel_setup, path, label):
    """Angular resolution (68 %, with 50 % and 95 %) vs true energy."""
    ref = reference_for(tel_setup)
    x, xerr = _x(table)
    n = np.maximum(np.asarray(table["N_EVENTS"]), 1)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    y68 = table["ANGULAR_RESOLUTION_68"].to_value(u.deg)
    ax.errorbar(x, y68, xerr=xerr, yerr=y68 / np.sqrt(2 * n), fmt="o", ms=4, label="68 %")
    for q, style in ((50, "v"), (95, "^")):
        ax.plot(
            x,
            table[f"ANGULAR_RESOLUTION_{q}"].to_value(u.deg),
            style,
            ms=4,
            alpha=0.6,
            label=f"{q} %",
        )
    ax.axhline(
        ref["angular"].to_value(u.deg),
        ls="--",
        c="k",
        label=f"{REFERENCE}: {ref['angular'].to_value(u.deg):.2f}° (68 %)",
    )
    ax.set_ylabel("angular resolution [deg]")
    ax.set_xlabel("true energy [TeV]")
    top = max(2.5 * np.nanmax(np.r_[y68, 0.0]), 2.5 * ref["angular"].to_value(u.deg))
    ax.set_ylim(0, top)  # 95 % points above are off scale
    _finish(fig, ax, path, f"Angular resolution, {label}")


def plot_area(table, tel_setup, path, label, threshold=None):
    """Effective area after cuts vs true energy, with the energy thresholds."""
    ref = reference_for(tel_setup)
    x, xerr = _x(table)
    area = table["EFFECTIVE_AREA"].to_value(u.m**2)
    n = np.maximum(np.asarray(table["N_EVENTS"]), 1)
    good = np.asarray(table["N_EVENTS"]) > 0
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.errorbar(
        x[good],
        area[good],
        xerr=xerr[:, good],
        yerr=(area / np.sqrt(n))[good],
        fmt="o",
        ms=4,
        label="after cuts",
    )
    ax.axvline(
        ref["threshold"].to_value(u.TeV),
        ls="--",
        c="k",
        label=f"{REFERENCE}: threshold {ref['threshold'].to_value(u.TeV):g} TeV",
    )
    if threshold is not None and np.isfinite(threshold):
        ax.axvline(threshold, ls=":", c="C1", label=f"this MC: threshold {threshold:.2g} TeV")
    ax.set_yscale("log")
    ax.set_ylabel("effective area [m²]")
    ax.set_xlabel("true energy [TeV]")
    _finish(fig, ax, path, f"Effective area, {label}")


def plot_sensitivity(tables, path, label):
    """E² × differential flux sensitivity for several observation times, with Crab fractions."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for hours, table in tables.items():
        x, xerr = _x(table)
        y = table["ENERGY_FLUX_SENSITIVITY"].to_value(u.erg / u.cm**2 / u.s)
        ax.errorbar(x, y, xerr=xerr, fmt="o", ms=4, label=f"{hours:g} h")
    e = np.geomspace(0.3, 300, 100) * u.TeV
    crab = (e**2 * CRAB_MAGIC_JHEAP2015(e)).to_value(u.erg / u.cm**2 / u.s)
    for frac, style in ((1, "-"), (0.1, "--"), (0.01, ":")):
        ax.plot(e.value, frac * crab, style, c="grey", lw=1, label=f"{frac:.0%} Crab (MAGIC 2015)")
    ax.set_yscale("log")
    ax.set_ylim(1e-14, 2e-10)
    ax.set_ylabel("E² × flux sensitivity [erg cm⁻² s⁻¹]")
    ax.set_xlabel("reconstructed energy [TeV]")
    _finish(
        fig,
        ax,
        path,
        f"Differential sensitivity, {label}",
        legend_title="5σ, ≥ 10 γ, ≥ 5 % of bkg, α = 0.2, 5 bins/decade",
    )


def plot_roc(gammas, protons, auc_table, path, label):
    """ROC curve of all events and AUC per reconstructed-energy bin."""
    from sklearn.metrics import roc_curve

    truth = np.r_[np.ones(len(gammas)), np.zeros(len(protons))]
    fpr, tpr, _ = roc_curve(truth, np.r_[gammas["gh_score"], protons["gh_score"]])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.4))
    ax.plot(fpr, tpr, label="all energies")
    ax.plot([0, 1], [0, 1], c="grey", ls=":", label="random")
    ax.set_xlabel("proton efficiency (false positive rate)")
    ax.set_ylabel("gamma efficiency (true positive rate)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"ROC, {label}")
    x, xerr = _x(auc_table)
    ax2.errorbar(x, auc_table["AUC"], xerr=xerr, fmt="o", ms=4, label="AUC per bin")
    ax2.set_ylim(0.5, 1.005)
    ax2.set_ylabel("area under the ROC curve")
    ax2.set_xlabel("reconstructed energy [TeV]")
    _finish(fig, ax2, path, f"AUC per energy bin, {label}")

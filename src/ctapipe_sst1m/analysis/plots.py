"""Figures of the high-level analysis (PNG): θ², sky maps, significance distribution, SED,
light curve; and the published Crab Nebula spectra drawn for reference on the SED.

Reference spectra (parameters copied from the papers; dN/dE in TeV⁻¹ cm⁻² s⁻¹, E in TeV):

* HEGRA 2004 — Aharonian et al., ApJ 614, 897 (2004): power law
  2.83·10⁻¹¹ E^−2.62;
* HESS 2006 — Aharonian et al., A&A 457, 899 (2006): power law with exponential cut-off
  3.76·10⁻¹¹ E^−2.39 exp(−E/14.3);
* MAGIC 2015 — Aleksić et al., JHEAp 5–6, 30 (2015): log-parabola
  3.23·10⁻¹¹ E^(−2.47 − 0.24 log10 E).
"""

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = [
    "CRAB_REFERENCES",
    "crab_reference_models",
    "plot_lightcurve",
    "plot_map",
    "plot_sed",
    "plot_significance_distribution",
    "plot_theta2",
]

#: published Crab spectra: (label, kind, parameters)
CRAB_REFERENCES = {
    "HEGRA 2004": ("powerlaw", {"amplitude": 2.83e-11, "index": 2.62}),
    "HESS 2006": ("ecpl", {"amplitude": 3.76e-11, "index": 2.39, "cutoff_TeV": 14.3}),
    "MAGIC 2015": ("logparabola10", {"amplitude": 3.23e-11, "alpha": 2.47, "beta": 0.24}),
}


def crab_reference_models():
    """The published Crab spectra as gammapy spectral models (reference energy 1 TeV)."""
    from gammapy.modeling.models import (
        ExpCutoffPowerLawSpectralModel,
        LogParabolaSpectralModel,
        PowerLawSpectralModel,
    )

    unit = u.Unit("TeV-1 cm-2 s-1")
    models = {}
    for label, (kind, p) in CRAB_REFERENCES.items():
        amplitude = p["amplitude"] * unit
        if kind == "powerlaw":
            model = PowerLawSpectralModel(amplitude=amplitude, index=p["index"], reference="1 TeV")
        elif kind == "ecpl":
            model = ExpCutoffPowerLawSpectralModel(
                amplitude=amplitude,
                index=p["index"],
                lambda_=1 / (p["cutoff_TeV"] * u.TeV),
                reference="1 TeV",
            )
        else:
            model = LogParabolaSpectralModel.from_log10(
                amplitude=amplitude, reference=1 * u.TeV, alpha=p["alpha"], beta=p["beta"]
            )
        models[label] = model
    return models


def _save(fig, path):
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def plot_theta2(histogram, summary, path, title=""):
    """ON counts and α·OFF counts vs θ² with Poisson errors, the cut as a dashed line."""
    lo = histogram["theta2_min"].to_value(u.deg**2)
    hi = histogram["theta2_max"].to_value(u.deg**2)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.errorbar(centre, histogram["n_on"], yerr=histogram["n_on_err"], xerr=half, fmt="o",
                color="k", label="ON")  # fmt: skip
    ax.errorbar(centre, histogram["n_off_scaled"], yerr=histogram["n_off_scaled_err"],
                xerr=half, fmt="s", color="tab:red", alpha=0.7, label="α · OFF")  # fmt: skip
    ax.axvline(summary["theta_cut_deg"] ** 2, ls="--", color="gray", label="θ cut")
    text = (
        f"N_on = {summary['n_on']}\nN_off = {summary['n_off']}, α = {summary['alpha']:.3f}\n"
        f"excess = {summary['excess']:.1f} ± {summary['excess_error']:.1f}\n"
        f"Li & Ma σ = {summary['significance']:.1f}\nlivetime = {summary['livetime_h']:.2f} h"
    )
    ax.text(0.97, 0.95, text, transform=ax.transAxes, ha="right", va="top",
            bbox={"facecolor": "white", "alpha": 0.8})  # fmt: skip
    ax.set_xlabel("θ² [deg²]")
    ax.set_ylabel("events")
    ax.set_title(title or "θ²")
    ax.legend(loc="center right")
    _save(fig, path)


def plot_map(sky_map, target, path, label, title="", radius=None):
    """A 2-D sky map with the target marked (and the exclusion circle)."""
    image = sky_map.sum_over_axes(keepdims=False) if sky_map.geom.is_image is False else sky_map
    fig = plt.figure(figsize=(7, 6))
    ax = fig.add_subplot(projection=image.geom.wcs)
    data = np.asarray(image.data, float)
    finite = data[np.isfinite(data)]
    vmax = np.max(np.abs(finite)) if finite.size else 1
    im = ax.imshow(data, origin="lower", cmap="RdBu_r" if finite.min(initial=0) < 0 else "viridis",
                   vmin=-vmax if finite.min(initial=0) < 0 else None, vmax=vmax)  # fmt: skip
    fig.colorbar(im, ax=ax, label=label)
    transform = ax.get_transform("icrs")
    ax.plot(target.icrs.ra.deg, target.icrs.dec.deg, "+", color="k", ms=14, mew=2,
            transform=transform, label="target")  # fmt: skip
    if radius is not None:
        from matplotlib.patches import Circle

        ax.add_patch(Circle((target.icrs.ra.deg, target.icrs.dec.deg), radius.to_value(u.deg),
                            transform=transform, fill=False, ls="--", color="k"))  # fmt: skip
    ax.set_xlabel("RA")
    ax.set_ylabel("Dec")
    ax.set_title(title)
    _save(fig, path)


def plot_significance_distribution(all_values, off_values, fit, path):
    """Histogram of the significances (all pixels and outside the exclusion) with the fit."""
    fig, ax = plt.subplots(figsize=(7, 5))
    bins = np.linspace(-6, 8, 57)
    all_values = all_values[np.isfinite(all_values)]
    off_values = off_values[np.isfinite(off_values)]
    ax.hist(all_values, bins=bins, histtype="step", color="k", label="all pixels")
    ax.hist(off_values, bins=bins, histtype="stepfilled", alpha=0.5, label="outside exclusion")
    x = np.linspace(-6, 8, 300)
    if np.isfinite(fit["sigma"]) and fit["sigma"] > 0:
        scale = off_values.size * (bins[1] - bins[0])
        pdf = np.exp(-0.5 * ((x - fit["mean"]) / fit["sigma"]) ** 2)
        ax.plot(x, scale * pdf / (fit["sigma"] * np.sqrt(2 * np.pi)), color="tab:red",
                label=f"fit μ = {fit['mean']:.2f}, σ = {fit['sigma']:.2f}")  # fmt: skip
        ax.plot(x, scale * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), ls=":", color="gray",
                label="N(0, 1)")  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(0.5, None)
    ax.set_xlabel("significance")
    ax.set_ylabel("pixels")
    ax.legend()
    _save(fig, path)


def plot_sed(flux_points, model, path, energy_range, title="", references=True):
    """E² dN/dE: flux points, the fitted model with its error band, published Crab spectra."""
    fig, ax = plt.subplots(figsize=(7, 5))
    bounds = u.Quantity(energy_range)
    kw = {"energy_bounds": bounds, "sed_type": "e2dnde", "ax": ax}
    if model is not None:
        model.spectral_model.plot(label="fit", color="tab:blue", **kw)
        try:
            model.spectral_model.plot_error(facecolor="tab:blue", alpha=0.3, **kw)
        except (ValueError, np.linalg.LinAlgError):
            pass
    if flux_points is not None:
        flux_points.plot(ax=ax, sed_type="e2dnde", color="k", label="flux points")
    if references:
        styles = iter(["--", "-.", ":"])
        for label, ref in crab_reference_models().items():
            ref.plot(label=label, color="gray", ls=next(styles), **kw)
    ax.set_title(title or "SED")
    ax.legend()
    _save(fig, path)


def plot_lightcurve(per_run, per_night, path, title=""):
    """Integral flux per run (and per night) vs time; upper limits as arrows."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for table, color, label in ((per_run, "k", "per run"), (per_night, "tab:red", "per night")):
        if table is None or len(table) == 0:
            continue
        t0, t1 = table["time_min"].mjd, table["time_max"].mjd
        centre, half = (t0 + t1) / 2, (t1 - t0) / 2
        flux = np.asarray(table["flux"].value, float)
        err = np.asarray(table["flux_err"].value, float)
        ul = np.asarray(table["is_ul"], bool)
        ax.errorbar(centre[~ul], flux[~ul], yerr=err[~ul], xerr=half[~ul], fmt="o", color=color,
                    label=label)  # fmt: skip
        if np.any(ul) and "flux_ul" in table.colnames:
            ulv = np.asarray(table["flux_ul"].value, float)
            ax.errorbar(centre[ul], ulv[ul], xerr=half[ul], yerr=0.2 * ulv[ul], uplims=True,
                        fmt="v", color=color, alpha=0.6)  # fmt: skip
        ax.set_ylabel(f"flux above {table.meta.get('E_MIN', '')} [{table['flux'].unit}]")
    ax.set_xlabel("MJD")
    ax.set_title(title or "light curve")
    ax.legend()
    _save(fig, path)

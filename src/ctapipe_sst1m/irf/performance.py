"""Performance numbers of a telescope setup (pure functions on event tables, units kept).

* `energy_bias_resolution`: per true-energy bin, the median of ΔE/E (bias), the 68 % quantile
  of ``|ΔE/E|`` (sst1mpipe/LST convention) and the same after dividing out the bias;
* `angular_resolution`: quantiles (25/50/68/95 %) of θ per true-energy bin;
* `roc_auc`: area under the ROC curve per reconstructed-energy bin (scikit-learn);
* `excess_for_detection` / `differential_sensitivity`: the CTAO criteria (5σ Li & Ma,
  ≥ 10 excess events, excess ≥ 5 % of the background, α = 0.2) with pyirf, background from
  weighted protons in a FoV ring (pyirf `estimate_background`).

Bins with fewer than ``min_events`` MC events are NaN (left blank in tables and plots).
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable
from pyirf.binning import bin_center, create_histogram_table
from pyirf.sensitivity import calculate_sensitivity, estimate_background, relative_sensitivity
from pyirf.spectral import CRAB_HEGRA

__all__ = [
    "energy_bias_resolution",
    "angular_resolution",
    "roc_auc",
    "excess_for_detection",
    "differential_sensitivity",
    "QUANTILES",
]

#: Angular-resolution quantiles (ctapipe's AngularResolution2dMaker defaults).
QUANTILES = (0.25, 0.5, 0.68, 0.95)


def _binned(values, energy, bins):
    index = np.digitize(u.Quantity(energy, u.TeV).value, u.Quantity(bins, u.TeV).value) - 1
    return [np.asarray(values)[index == i] for i in range(len(bins) - 1)]


def _edges(bins):
    bins = u.Quantity(bins, u.TeV)
    table = QTable()
    table["ENERG_LO"], table["ENERG_HI"] = bins[:-1], bins[1:]
    table["ENERG_CENTER"] = bin_center(bins)
    return table


def energy_bias_resolution(events, bins, min_events=10):
    """Table of N_EVENTS, BIAS, RESOLUTION, RESOLUTION_BIAS_CORRECTED per true-energy bin."""
    ratio = (events["reco_energy"] / events["true_energy"]).to_value(u.one)
    table = _edges(bins)
    columns = {k: [] for k in ("N_EVENTS", "BIAS", "RESOLUTION", "RESOLUTION_BIAS_CORRECTED")}
    for r in _binned(ratio, events["true_energy"], bins):
        columns["N_EVENTS"].append(len(r))
        if len(r) < min_events:
            for key in ("BIAS", "RESOLUTION", "RESOLUTION_BIAS_CORRECTED"):
                columns[key].append(np.nan)
            continue
        bias = np.median(r - 1)
        columns["BIAS"].append(bias)
        columns["RESOLUTION"].append(np.quantile(np.abs(r - 1), 0.6827))
        columns["RESOLUTION_BIAS_CORRECTED"].append(np.quantile(np.abs(r / (1 + bias) - 1), 0.6827))
    for key, values in columns.items():
        table[key] = np.array(values)
    return table


def angular_resolution(events, bins, quantiles=QUANTILES, min_events=10):
    """Table of N_EVENTS and ANGULAR_RESOLUTION_<q> [deg] per true-energy bin."""
    table = _edges(bins)
    groups = _binned(events["theta"].to_value(u.deg), events["true_energy"], bins)
    table["N_EVENTS"] = [len(g) for g in groups]
    for q in quantiles:
        values = [np.quantile(g, q) if len(g) >= min_events else np.nan for g in groups]
        table[f"ANGULAR_RESOLUTION_{round(100 * q)}"] = u.Quantity(values, u.deg)
    return table


def roc_auc(gammas, protons, bins, min_events=10):
    """Table of N_GAMMA, N_PROTON and AUC per reconstructed-energy bin."""
    from sklearn.metrics import roc_auc_score

    table = _edges(bins)
    g = _binned(gammas["gh_score"], gammas["reco_energy"], bins)
    p = _binned(protons["gh_score"], protons["reco_energy"], bins)
    table["N_GAMMA"] = [len(x) for x in g]
    table["N_PROTON"] = [len(x) for x in p]
    auc = []
    for sg, sp in zip(g, p, strict=True):
        if min(len(sg), len(sp)) < min_events:
            auc.append(np.nan)
            continue
        truth = np.r_[np.ones(len(sg)), np.zeros(len(sp))]
        auc.append(roc_auc_score(truth, np.r_[sg, sp]))
    table["AUC"] = auc
    return table


def excess_for_detection(
    n_signal, n_off, alpha, min_significance=5.0, min_excess=10.0, min_excess_fraction=0.05
):
    """Excess needed for a detection under the CTAO criteria (pyirf's root finding).

    ``n_signal`` (expected excess counts), ``n_off`` (OFF counts, α-scaled background =
    ``alpha · n_off``); returns the number of excess events ``n_signal · relative
    sensitivity`` at which all criteria hold.
    """
    rel = relative_sensitivity(
        n_on=np.asarray(n_signal) + alpha * np.asarray(n_off),
        n_off=np.asarray(n_off),
        alpha=alpha,
        min_significance=min_significance,
        min_signal_events=min_excess,
        min_excess_over_background=min_excess_fraction,
    )
    return rel * np.asarray(n_signal)


def differential_sensitivity(
    signal,
    background,
    bins,
    theta_cuts,
    alpha=0.2,
    fov_offset_range=(0 * u.deg, 1 * u.deg),
    time_factor=1.0,
    min_events=10,
    spectrum=CRAB_HEGRA,
    min_background_events=None,
):
    """Differential point-source sensitivity table (pyirf ``calculate_sensitivity``).

    ``signal``/``background``: selected, weighted events (θ cut applied to the signal);
    ``time_factor`` scales the weights (observation time / time of the weights). Bins with
    fewer than ``min_events`` MC signal events or ``min_background_events`` (None:
    ``min_events``) MC background events are NaN.
    """
    bins = u.Quantity(bins, u.TeV)
    signal = signal.copy()
    signal["weight"] = signal["weight"] * time_factor
    background = background.copy()
    background["weight"] = background["weight"] * time_factor
    signal_hist = create_histogram_table(signal, bins=bins)
    background_hist = estimate_background(
        background,
        reco_energy_bins=bins,
        theta_cuts=theta_cuts,
        alpha=alpha,
        fov_offset_min=fov_offset_range[0],
        fov_offset_max=fov_offset_range[1],
    )
    sens = calculate_sensitivity(signal_hist, background_hist, alpha=alpha)
    # blank on the raw MC counts (pyirf's n_background is already scaled to the ON region)
    offset = background["reco_source_fov_offset"]
    ring = (offset >= fov_offset_range[0]) & (offset < fov_offset_range[1])
    n_mc_background = np.histogram(background["reco_energy"][ring].to_value(u.TeV), bins.value)[0]
    n_mc_signal = np.histogram(signal["reco_energy"].to_value(u.TeV), bins.value)[0]
    if min_background_events is None:
        min_background_events = min_events
    few = (n_mc_signal < min_events) | (n_mc_background < min_background_events)
    sens["relative_sensitivity"][few] = np.nan
    center = bin_center(bins)
    flux = sens["relative_sensitivity"] * spectrum(center)
    table = _edges(bins)
    table["N_SIGNAL_MC"] = n_mc_signal
    table["N_SIGNAL"] = sens["n_signal"]
    table["N_SIGNAL_WEIGHTED"] = sens["n_signal_weighted"]
    table["N_BACKGROUND"] = sens["n_background"]
    table["N_BACKGROUND_WEIGHTED"] = sens["n_background_weighted"]
    table["N_BACKGROUND_MC"] = n_mc_background
    table["SIGNIFICANCE"] = sens["significance"]
    table["RELATIVE_SENSITIVITY"] = sens["relative_sensitivity"]
    table["FLUX_SENSITIVITY"] = flux.to(u.Unit("TeV-1 s-1 cm-2"))
    table["ENERGY_FLUX_SENSITIVITY"] = (flux * center**2).to(u.Unit("erg s-1 cm-2"))
    return table


def effective_area_after_cuts(events, sim_info, bins):
    """Table of N_EVENTS and EFFECTIVE_AREA per true-energy bin (pyirf, point-like gammas)."""
    from pyirf.irf import effective_area_per_energy

    table = _edges(bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        area = effective_area_per_energy(events, sim_info, u.Quantity(bins, u.TeV))
    table["N_EVENTS"] = np.histogram(
        events["true_energy"].to_value(u.TeV), u.Quantity(bins, u.TeV).value
    )[0]
    table["EFFECTIVE_AREA"] = np.nan_to_num(area).to(u.m**2)
    return table


def energy_threshold(events, bins):
    """Peak of the true-energy distribution of weighted selected gammas [TeV] (NaN if none)."""
    if len(events) == 0:
        return np.nan
    bins = u.Quantity(bins, u.TeV).value
    hist = np.histogram(events["true_energy"].to_value(u.TeV), bins, weights=events["weight"])[0]
    i = int(np.argmax(hist))
    return float(np.sqrt(bins[i] * bins[i + 1])) if hist[i] > 0 else np.nan

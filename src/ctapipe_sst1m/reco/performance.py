"""Performance figures of reconstructed MC events: small functions with units.

Energy bias/resolution and the 68 % angular containment are computed with pyirf's benchmark
functions (median relative error and half the 16–84 % inter-quantile distance; 68 % quantile
of the angular distance); the gamma/hadron separation by the ROC AUC of scikit-learn.

A figure of a bin holding fewer than ``min_events`` events is not a measurement (one event has
a "resolution" of 0): such bins are NaN. Each binned figure comes with its statistical error,
the standard deviation of the same statistic over seeded bootstrap resamples of the bin.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable
from pyirf.benchmarks import angular_resolution, energy_bias_resolution
from pyirf.benchmarks.angular_resolution import ONE_SIGMA_QUANTILE
from pyirf.benchmarks.energy_bias_resolution import inter_quantile_distance
from sklearn.metrics import roc_auc_score

from .directions import altaz_to_unit_vectors, angular_distance

__all__ = [
    "energy_bins",
    "energy_performance",
    "angular_performance",
    "angular_separation",
    "bootstrap_error",
    "gamma_hadron_auc",
    "table_to_json_dict",
]


def _counts(energy, bins):
    return np.histogram(energy.to_value(u.TeV), bins.to_value(u.TeV))[0]


def energy_bins(log10_min_tev=-1.0, log10_max_tev=3.0, n_bins=20):
    """Logarithmic energy bin edges in TeV (SST-1M default: 20 bins from 0.1 to 1000 TeV)."""
    return np.logspace(log10_min_tev, log10_max_tev, n_bins + 1) * u.TeV


@u.quantity_input(true_alt=u.deg, true_az=u.deg, reco_alt=u.deg, reco_az=u.deg)
def angular_separation(true_alt, true_az, reco_alt, reco_az):
    """Great-circle distance between true and reconstructed directions, in degrees."""
    first = altaz_to_unit_vectors(true_alt, true_az)
    second = altaz_to_unit_vectors(reco_alt, reco_az)
    return u.Quantity(np.rad2deg(angular_distance(first, second)), u.deg)


def bootstrap_error(values, statistic, n_resamples=200, seed=0):
    """Standard deviation of ``statistic(sample, axis=1)`` over bootstrap resamples.

    ``statistic`` must accept an ``axis`` argument (``np.median``, a quantile …); the
    resamples are drawn with a generator seeded by ``seed``, so the error is reproducible.
    """
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or n_resamples < 2:
        return np.nan
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, len(values), size=(int(n_resamples), len(values)))]
    return float(np.std(statistic(samples, axis=1), ddof=1))


def _half_inter_quantile(values, axis=None):
    if axis is None:
        return inter_quantile_distance(values)
    upper, lower = np.nanquantile(
        values, [0.5 + ONE_SIGMA_QUANTILE / 2, 0.5 - ONE_SIGMA_QUANTILE / 2], axis=axis
    )
    return (upper - lower) / 2


def _containment(values, axis=None):
    return np.nanquantile(values, ONE_SIGMA_QUANTILE, axis=axis)


def _binned_errors(energy, values, bins, statistic, n_events, min_events, n_resamples, seed):
    """Bootstrap errors per bin (NaN below ``min_events``)."""
    index = np.digitize(energy.to_value(u.TeV), bins.to_value(u.TeV)) - 1
    errors = np.full(len(bins) - 1, np.nan)
    for i in np.flatnonzero(n_events >= max(min_events, 2)):
        errors[i] = bootstrap_error(values[index == i], statistic, n_resamples, seed + i)
    return errors


def _blank(table, names, n_events, min_events):
    for name in names:
        column = table[name]
        unit = getattr(column, "unit", None)
        values = np.array(getattr(column, "value", column), dtype=float)
        values[n_events < min_events] = np.nan
        table[name] = values * unit if unit is not None else values


@u.quantity_input(true_energy=u.TeV, reco_energy=u.TeV, bins=u.TeV)
def energy_performance(true_energy, reco_energy, bins, min_events=1, n_resamples=0, seed=0):
    """Energy bias (median of (E_reco − E_true)/E_true) and resolution per true-energy bin.

    Bins with fewer than ``min_events`` events are NaN; ``bias_err`` and ``resolution_err``
    are bootstrap errors from ``n_resamples`` resamples (NaN for fewer than 2).

    Returns
    -------
    astropy.table.QTable
        ``true_energy_low/center/high``, ``bias``, ``resolution``, ``n_events``
        (and ``bias_err``, ``resolution_err``).
    """
    finite = np.isfinite(reco_energy) & np.isfinite(true_energy)
    events = QTable({"true_energy": true_energy[finite], "reco_energy": reco_energy[finite]})
    result = energy_bias_resolution(events, bins, energy_type="true")
    n_events = _counts(events["true_energy"], bins)
    result["n_events"] = n_events
    _blank(result, ("bias", "resolution"), n_events, min_events)
    rel = (events["reco_energy"] / events["true_energy"]).to_value(u.one) - 1
    args = (events["true_energy"], rel, bins)
    rest = (n_events, min_events, n_resamples, seed)
    result["bias_err"] = _binned_errors(*args, np.median, *rest)
    result["resolution_err"] = _binned_errors(*args, _half_inter_quantile, *rest)
    return result


@u.quantity_input(true_energy=u.TeV, theta=u.deg, bins=u.TeV)
def angular_performance(true_energy, theta, bins, min_events=1, n_resamples=0, seed=0):
    """68 % containment radius of the angular distance ``theta`` per true-energy bin.

    Bins with fewer than ``min_events`` events are NaN; ``angular_resolution_68_err`` is the
    bootstrap error from ``n_resamples`` resamples (NaN for fewer than 2).
    """
    finite = np.isfinite(theta) & np.isfinite(true_energy)
    events = QTable({"true_energy": true_energy[finite], "theta": theta[finite]})
    result = angular_resolution(events, bins, energy_type="true")
    n_events = _counts(events["true_energy"], bins)
    result["n_events"] = n_events
    _blank(result, ("angular_resolution_68",), n_events, min_events)
    theta_deg = events["theta"].to_value(u.deg)
    errors = _binned_errors(
        events["true_energy"],
        theta_deg,
        bins,
        _containment,
        n_events,
        min_events,
        n_resamples,
        seed,
    )
    result["angular_resolution_68_err"] = errors * u.deg
    return result


def gamma_hadron_auc(gammaness, is_gamma):
    """Area under the ROC curve of ``gammaness`` for the labels ``is_gamma``; NaN scores dropped."""
    gammaness = np.asarray(gammaness, dtype=float)
    is_gamma = np.asarray(is_gamma, dtype=bool)
    finite = np.isfinite(gammaness)
    if len(np.unique(is_gamma[finite])) < 2:
        return float("nan")
    return float(roc_auc_score(is_gamma[finite], gammaness[finite]))


def table_to_json_dict(table):
    """Column → list (values in the column unit) and column → unit string, for JSON output."""
    data = {}
    units = {}
    for name in table.colnames:
        col = table[name]
        values = np.asarray(getattr(col, "value", col), dtype=float)
        data[name] = [None if not np.isfinite(v) else float(v) for v in values]
        unit = getattr(col, "unit", None)
        if unit is not None and str(unit):
            units[name] = str(unit)
    data["units"] = units
    return data

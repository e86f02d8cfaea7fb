"""Performance figures of reconstructed MC events: small functions with units.

Energy bias/resolution and the 68 % angular containment are computed with pyirf's benchmark
functions (median relative error and half the 16–84 % inter-quantile distance; 68 % quantile
of the angular distance); the gamma/hadron separation by the ROC AUC of scikit-learn.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable
from pyirf.benchmarks import angular_resolution, energy_bias_resolution
from sklearn.metrics import roc_auc_score

from .directions import altaz_to_unit_vectors, angular_distance

__all__ = [
    "energy_bins",
    "energy_performance",
    "angular_performance",
    "angular_separation",
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


@u.quantity_input(true_energy=u.TeV, reco_energy=u.TeV, bins=u.TeV)
def energy_performance(true_energy, reco_energy, bins):
    """Energy bias (median of (E_reco − E_true)/E_true) and resolution per true-energy bin.

    Returns
    -------
    astropy.table.QTable
        ``true_energy_low/center/high``, ``bias``, ``resolution``, ``n_events``.
    """
    finite = np.isfinite(reco_energy) & np.isfinite(true_energy)
    events = QTable({"true_energy": true_energy[finite], "reco_energy": reco_energy[finite]})
    result = energy_bias_resolution(events, bins, energy_type="true")
    result["n_events"] = np.histogram(events["true_energy"].to_value(u.TeV), bins.to_value(u.TeV))[
        0
    ]
    return result


@u.quantity_input(true_energy=u.TeV, theta=u.deg, bins=u.TeV)
def angular_performance(true_energy, theta, bins):
    """68 % containment radius of the angular distance ``theta`` per true-energy bin."""
    finite = np.isfinite(theta) & np.isfinite(true_energy)
    events = QTable({"true_energy": true_energy[finite], "theta": theta[finite]})
    result = angular_resolution(events, bins, energy_type="true")
    result["n_events"] = np.histogram(events["true_energy"].to_value(u.TeV), bins.to_value(u.TeV))[
        0
    ]
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

"""Gammaness and θ cuts: semantics, energy-dependent tables and their construction.

Semantics (the same as ``ctapipe-compute-irf`` and sst1mpipe):

* a **global** gammaness cut keeps ``g > cut`` (strict);
* an **energy-dependent** table keeps ``g ≥ cut(bin of E_reco)``; events whose reconstructed
  energy lies outside the table's range are rejected (pyirf `evaluate_binned_cut`);
* a θ table keeps ``θ ≤ cut(bin)``.

Tables are `~astropy.table.QTable` with ``low``, ``high``, ``center`` [TeV], ``cut`` and
``n_events``: the layout of ``GH_CUTS``/``RAD_MAX`` in ctapipe's `OptimizationResult`.
Bins with fewer than ``min_events`` events take the cut of the nearest populated bin (the mean
of the two neighbours at equal distance) instead of an arbitrary fill value.
"""

import operator

import astropy.units as u
import numpy as np
from astropy.table import QTable
from pyirf.cuts import calculate_percentile_cut, evaluate_binned_cut

__all__ = [
    "global_cut_mask",
    "table_cut_mask",
    "fill_from_neighbours",
    "efficiency_gh_cuts",
    "containment_theta_cuts",
    "constant_cut_table",
]


def global_cut_mask(gammaness, cut):
    """Events kept by a global gammaness cut: ``gammaness > cut``."""
    return np.asarray(gammaness) > cut


def table_cut_mask(values, reco_energy, table, op=operator.ge):
    """Events kept by an energy-dependent cut table (``op`` ≥ for gammaness, ≤ for θ)."""
    table = table if isinstance(table, QTable) else QTable(table)
    return evaluate_binned_cut(values, u.Quantity(reco_energy, u.TeV), table, op)


def fill_from_neighbours(cut, populated):
    """Replace the cuts of unpopulated bins by the nearest populated bins' cut.

    A bin at equal distance from two populated bins takes their mean. Raises ValueError if no
    bin is populated.
    """
    cut = np.array(cut, dtype=float)
    good = np.flatnonzero(populated)
    if len(good) == 0:
        raise ValueError("no energy bin has enough events to compute a cut")
    for i in np.flatnonzero(~np.asarray(populated)):
        distance = np.abs(good - i)
        nearest = good[distance == distance.min()]
        cut[i] = cut[nearest].mean()
    return cut


def _percentile_table(values, reco_energy, bins, percentile, min_events, clip, unit=None):
    fill = u.Quantity(np.nan, unit) if unit is not None else np.nan
    table = calculate_percentile_cut(
        values,
        u.Quantity(reco_energy, u.TeV),
        u.Quantity(bins, u.TeV),
        fill_value=fill,
        percentile=percentile,
        min_value=clip[0],
        max_value=clip[1],
        min_events=min_events,
    )
    populated = np.asarray(table["n_events"]) >= min_events
    filled = fill_from_neighbours(u.Quantity(table["cut"]).value, populated)
    table["cut"] = filled if unit is None else u.Quantity(filled, unit)
    table["populated"] = populated
    return table


def efficiency_gh_cuts(gammaness, reco_energy, bins, efficiency, min_events=100, clip=(0.1, 0.95)):
    """Gammaness cut per reco-energy bin keeping the fraction ``efficiency`` of the gammas."""
    return _percentile_table(
        np.asarray(gammaness, dtype=float),
        reco_energy,
        bins,
        100.0 * (1.0 - efficiency),
        min_events,
        clip,
    )


def containment_theta_cuts(
    theta, reco_energy, bins, containment, min_events=100, clip=(0.05 * u.deg, 0.5 * u.deg)
):
    """θ cut per reco-energy bin containing the fraction ``containment`` of the gammas."""
    return _percentile_table(
        u.Quantity(theta, u.deg), reco_energy, bins, 100.0 * containment, min_events, clip, u.deg
    )


def constant_cut_table(value, bins):
    """A cut table with the same ``value`` (float or angle) in every bin of ``bins``."""
    bins = u.Quantity(bins, u.TeV)
    table = QTable()
    table["low"], table["high"] = bins[:-1], bins[1:]
    table["center"] = np.sqrt(bins[:-1] * bins[1:])
    table["cut"] = u.Quantity(
        np.full(len(bins) - 1, u.Quantity(value).value), u.Quantity(value).unit
    )
    if table["cut"].unit == u.one:
        table["cut"] = np.asarray(table["cut"])
    return table

"""Performance of trained models on held-out MC, mono per telescope and stereo.

Applies the reconstructors exactly as at DL2 time (``predict_table`` per telescope, then
their stereo combiners on the telescope events of each array event) and reduces the result
with the functions of `ctapipe_sst1m.reco.performance`. Binned figures of bins holding fewer
than `PerformanceEvaluator.min_events_per_bin` test events are ``null`` in ``performance.json``,
and every binned figure has its bootstrap error (``…_err``).
"""

import astropy.units as u
import numpy as np
from astropy.table import vstack
from ctapipe.core import Component
from ctapipe.core.traits import Int

from .performance import (
    angular_performance,
    angular_separation,
    energy_bins,
    energy_performance,
    gamma_hadron_auc,
)
from .training import add_predictions

__all__ = ["PerformanceEvaluator", "evaluate_mode", "metrics", "PERFORMANCE_BINS"]

#: Energy binning of ``performance.json`` (SST-1M: 0.1–1000 TeV; 4 bins per decade here).
PERFORMANCE_BINS = energy_bins(-1.0, 3.0, 16)


def _filled_bool(col):
    return np.asarray(col.filled(False) if hasattr(col, "filled") else col, bool)


def _array(col):
    if hasattr(col, "filled"):
        col = col.filled(np.nan)
    return np.asarray(getattr(col, "value", col), dtype=float)


def metrics(
    true_energy,
    reco_energy,
    theta,
    gammaness_gamma,
    gammaness_proton,
    bins=None,
    min_events=20,
    n_resamples=200,
    seed=0,
):
    """All figures of one reconstruction as a JSON-ready dictionary.

    Parameters
    ----------
    true_energy, reco_energy : Quantity
        Gamma events (NaN reco energy = not reconstructed).
    theta : Quantity
        Angular distance true–reconstructed of the same gammas.
    gammaness_gamma, gammaness_proton : array or None
        Scores of test gammas and protons; AUC is NaN without protons.
    min_events : int
        Bins (and whole-sample figures) with fewer events are ``None``.
    n_resamples, seed : int
        Bootstrap resamples and seed of the errors of the binned figures.
    """
    bins = PERFORMANCE_BINS if bins is None else bins
    options = {"min_events": min_events, "n_resamples": n_resamples, "seed": seed}
    e_table = energy_performance(true_energy, reco_energy, bins, **options)
    a_table = angular_performance(true_energy, theta, bins, **options)
    finite_e = np.isfinite(reco_energy)
    rel = (reco_energy[finite_e] - true_energy[finite_e]) / true_energy[finite_e]
    rel = rel.to_value(u.one)
    finite_t = np.isfinite(theta)
    auc = float("nan")
    if gammaness_proton is not None and len(gammaness_proton) > 0:
        scores = np.concatenate([gammaness_gamma, gammaness_proton])
        labels = np.concatenate(
            [np.ones(len(gammaness_gamma), bool), np.zeros(len(gammaness_proton), bool)]
        )
        auc = gamma_hadron_auc(scores, labels)

    def clean(values):
        return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, float)]

    enough_e = len(rel) >= max(min_events, 1)
    enough_t = finite_t.sum() >= max(min_events, 1)
    return {
        "n_test_gammas": int(len(true_energy)),
        "n_test_protons": int(0 if gammaness_proton is None else len(gammaness_proton)),
        "min_events_per_bin": int(min_events),
        "energy_bins_tev": clean(bins.to_value(u.TeV)),
        "n_events_per_bin": [int(n) for n in e_table["n_events"]],
        "n_events_per_bin_angular": [int(n) for n in a_table["n_events"]],
        "energy_bias": clean(e_table["bias"]),
        "energy_bias_err": clean(e_table["bias_err"]),
        "energy_resolution": clean(e_table["resolution"]),
        "energy_resolution_err": clean(e_table["resolution_err"]),
        "angular_resolution_68_deg": clean(a_table["angular_resolution_68"].to_value(u.deg)),
        "angular_resolution_68_err_deg": clean(
            a_table["angular_resolution_68_err"].to_value(u.deg)
        ),
        "energy_bias_all": float(np.median(rel)) if enough_e else None,
        "energy_resolution_all": (
            float((np.percentile(rel, 84) - np.percentile(rel, 16)) / 2) if enough_e else None
        ),
        "angular_resolution_68_all_deg": (
            float(np.percentile(theta[finite_t].to_value(u.deg), 68.27)) if enough_t else None
        ),
        "auc": None if not np.isfinite(auc) else auc,
    }


def _stereo(recos, tables):
    """Array-event table with the stereo outputs of every reconstructor's combiner."""
    tel_events = vstack(tables, metadata_conflicts="silent")
    tel_events.sort(["obs_id", "event_id", "tel_id"])
    result = None
    for reco in recos:
        combined = reco.stereo_combiner.predict_table(tel_events)
        keep = [c for c in combined.colnames if not c.endswith("_telescopes")]
        combined = combined[keep]
        result = combined if result is None else _hjoin(result, combined)
    first = np.unique(
        np.asarray(tel_events["obs_id"], np.int64) * (1 << 32)
        + np.asarray(tel_events["event_id"], np.int64),
        return_index=True,
    )[1]
    truth = tel_events[np.sort(first)][["obs_id", "event_id", "true_energy", "true_alt", "true_az"]]
    return _hjoin(result, truth)


def _hjoin(left, right):
    from astropy.table import join

    return join(left, right, keys=["obs_id", "event_id"], join_type="left")


class PerformanceEvaluator(Component):
    """Figures of merit of trained models on the held-out test events (``performance.json``)."""

    min_events_per_bin = Int(
        20,
        min=1,
        help="Smallest number of test events in an energy bin for its bias, resolution and"
        " angular resolution to be reported; emptier bins are null in performance.json and"
        " not drawn in the report.",
    ).tag(config=True)
    n_bootstrap = Int(
        200,
        min=0,
        help="Bootstrap resamples used for the statistical error of each binned figure"
        " (0 or 1: no errors).",
    ).tag(config=True)
    bootstrap_seed = Int(0, help="Seed of the bootstrap resampling.").tag(config=True)

    def __call__(self, recos, tests, subarray, mode):
        """`evaluate_mode` with this component's minimum count and bootstrap settings."""
        return evaluate_mode(
            recos,
            tests,
            subarray,
            mode,
            min_events=self.min_events_per_bin,
            n_resamples=self.n_bootstrap,
            seed=self.bootstrap_seed,
        )


def evaluate_mode(recos, tests, subarray, mode, min_events=20, n_resamples=200, seed=0):
    """Figures of merit for one mode; returns (performance dict, ROC inputs for the report).

    ``recos`` = [energy, disp, (classifier)]; ``tests`` maps telescope type to
    (gamma_test, proton_test or None) tables as read for training; the other arguments are
    those of `metrics`.
    """
    options = {"min_events": min_events, "n_resamples": n_resamples, "seed": seed}
    energy, disp = recos[0], recos[1]
    classifier = recos[2] if len(recos) > 2 else None
    performance = {}
    scores = {}
    g_tables, p_tables = [], []
    for tel_type, (g_test, p_test) in tests.items():
        g = add_predictions(recos, tel_type, g_test.copy())
        p = add_predictions(recos, tel_type, p_test.copy()) if p_test is not None else None
        g_tables.append(g)
        if p is not None:
            p_tables.append(p)
        if mode != "mono":
            continue
        theta = angular_separation(
            g["true_alt"].quantity,
            g["true_az"].quantity,
            g[f"{disp.prefix}_tel_alt"].quantity,
            g[f"{disp.prefix}_tel_az"].quantity,
        )
        gg = _array(g[f"{classifier.prefix}_tel_prediction"]) if classifier else None
        gp = _array(p[f"{classifier.prefix}_tel_prediction"]) if classifier and p else None
        for tel_id in subarray.get_tel_ids_for_type(tel_type):
            key = f"tel_{tel_id:03d}"
            performance[key] = metrics(
                g["true_energy"].quantity,
                g[f"{energy.prefix}_tel_energy"].quantity,
                theta,
                gg,
                gp,
                **options,
            )
            scores[key] = (gg, gp)
    if mode == "stereo":
        g_st = _stereo(recos, g_tables)
        valid = _filled_bool(g_st[f"{disp.prefix}_is_valid"])
        g_st = g_st[valid]
        theta = angular_separation(
            g_st["true_alt"].quantity,
            g_st["true_az"].quantity,
            g_st[f"{disp.prefix}_alt"].quantity,
            g_st[f"{disp.prefix}_az"].quantity,
        )
        gg = gp = None
        if classifier is not None:
            gg = _array(g_st[f"{classifier.prefix}_prediction"])
            if p_tables:
                p_st = _stereo(recos, p_tables)
                p_valid = _filled_bool(p_st[f"{disp.prefix}_is_valid"])
                gp = _array(p_st[f"{classifier.prefix}_prediction"][p_valid])
        performance["stereo"] = metrics(
            g_st["true_energy"].quantity,
            g_st[f"{energy.prefix}_energy"].quantity,
            theta,
            gg,
            gp,
            **options,
        )
        performance["stereo"]["median_min_distance_deg"] = float(
            np.nanmedian(_array(g_st[f"{disp.prefix}_min_distance"]))
        )
        scores["stereo"] = (gg, gp)
    return performance, scores

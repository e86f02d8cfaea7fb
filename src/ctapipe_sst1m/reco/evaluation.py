"""Performance of trained models on held-out MC, mono per telescope and stereo.

Applies the reconstructors exactly as at DL2 time (``predict_table`` per telescope, then
their stereo combiners on the telescope events of each array event) and reduces the result
with the functions of `ctapipe_sst1m.reco.performance`.
"""

import astropy.units as u
import numpy as np
from astropy.table import vstack

from .performance import (
    angular_performance,
    angular_separation,
    energy_bins,
    energy_performance,
    gamma_hadron_auc,
)
from .training import add_predictions

__all__ = ["evaluate_mode", "metrics", "PERFORMANCE_BINS"]

#: Energy binning of ``performance.json`` (SST-1M: 0.1–1000 TeV; 4 bins per decade here).
PERFORMANCE_BINS = energy_bins(-1.0, 3.0, 16)


def _filled_bool(col):
    return np.asarray(col.filled(False) if hasattr(col, "filled") else col, bool)


def _array(col):
    if hasattr(col, "filled"):
        col = col.filled(np.nan)
    return np.asarray(getattr(col, "value", col), dtype=float)


def metrics(true_energy, reco_energy, theta, gammaness_gamma, gammaness_proton, bins=None):
    """All figures of one reconstruction as a JSON-ready dictionary.

    Parameters
    ----------
    true_energy, reco_energy : Quantity
        Gamma events (NaN reco energy = not reconstructed).
    theta : Quantity
        Angular distance true–reconstructed of the same gammas.
    gammaness_gamma, gammaness_proton : array or None
        Scores of test gammas and protons; AUC is NaN without protons.
    """
    bins = PERFORMANCE_BINS if bins is None else bins
    e_table = energy_performance(true_energy, reco_energy, bins)
    a_table = angular_performance(true_energy, theta, bins)
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

    return {
        "n_test_gammas": int(len(true_energy)),
        "n_test_protons": int(0 if gammaness_proton is None else len(gammaness_proton)),
        "energy_bins_tev": clean(bins.to_value(u.TeV)),
        "n_events_per_bin": [int(n) for n in e_table["n_events"]],
        "energy_bias": clean(e_table["bias"]),
        "energy_resolution": clean(e_table["resolution"]),
        "angular_resolution_68_deg": clean(a_table["angular_resolution_68"].to_value(u.deg)),
        "energy_bias_all": float(np.median(rel)) if len(rel) else None,
        "energy_resolution_all": (
            float((np.percentile(rel, 84) - np.percentile(rel, 16)) / 2) if len(rel) else None
        ),
        "angular_resolution_68_all_deg": (
            float(np.percentile(theta[finite_t].to_value(u.deg), 68.27)) if finite_t.any() else None
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


def evaluate_mode(recos, tests, subarray, mode):
    """Figures of merit for one mode; returns (performance dict, ROC inputs for the report).

    ``recos`` = [energy, disp, (classifier)]; ``tests`` maps telescope type to
    (gamma_test, proton_test or None) tables as read for training.
    """
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
            g_st["true_energy"].quantity, g_st[f"{energy.prefix}_energy"].quantity, theta, gg, gp
        )
        performance["stereo"]["median_min_distance_deg"] = float(
            np.nanmedian(_array(g_st[f"{disp.prefix}_min_distance"]))
        )
        scores["stereo"] = (gg, gp)
    return performance, scores

"""ctapipe reconstructors that also report the spread of the forest's trees.

`SST1MEnergyRegressor` and `SST1MParticleClassifier` are the stock ctapipe
`~ctapipe.reco.EnergyRegressor` / `~ctapipe.reco.ParticleClassifier` (same training, same
pickles, same output columns) plus one column ``<prefix>_tel_energy_uncert`` /
``<prefix>_tel_prediction_uncert``: the standard deviation of the individual trees'
predictions, used for inverse-variance stereo weights. For random forests the mean and the
spread are accumulated in one pass over the trees, so the cost equals one ``predict``; other
scikit-learn models fall back to their own ``predict`` and a NaN spread.
"""

import astropy.units as u
import numpy as np
from astropy.table import Table
from ctapipe.containers import ParticleClassificationContainer, ReconstructedEnergyContainer
from ctapipe.reco import EnergyRegressor, ParticleClassifier
from ctapipe.reco.reconstructor import ReconstructionProperty
from ctapipe.reco.utils import add_defaults_and_meta

from ..compat import models_of, positive_class_index
from ..version import __version__  # noqa: F401  (ctapipe-info --plugins reports it)
from .combiners import UNCERT_SUFFIX

__all__ = [
    "SST1MEnergyRegressor",
    "SST1MParticleClassifier",
    "feature_matrix",
    "forest_mean_std",
    "passing_feature_matrix",
    "prediction_table",
]


def forest_mean_std(model, X, column=None):
    """Mean and standard deviation over the trees of a fitted forest, in one pass.

    Parameters
    ----------
    model : sklearn estimator
        A fitted ``RandomForest*``/``ExtraTrees*`` model (anything with ``estimators_``);
        other models return ``model.predict`` (or ``predict_proba[:, column]``) and NaN.
    X : numpy.ndarray
        Feature matrix, float32.
    column : int or None
        For classifiers the class index whose probability is averaged.

    Returns
    -------
    mean, std : numpy.ndarray
    """
    trees = getattr(model, "estimators_", None)
    if trees is None:
        if column is None:
            return model.predict(X), np.full(len(X), np.nan)
        return model.predict_proba(X)[:, column], np.full(len(X), np.nan)

    X = np.ascontiguousarray(X, dtype=np.float32)
    total = np.zeros(len(X))
    total_sq = np.zeros(len(X))
    for tree in trees:
        # Tree.predict on the low-level tree skips sklearn's per-call input validation
        values = tree.tree_.predict(X)
        if column is None:
            value = values[:, 0, 0] if values.ndim == 3 else values[:, 0]
        else:
            node_counts = values[:, 0, :] if values.ndim == 3 else values
            if node_counts.shape[1] == 2:  # two classes: a sum along a length-2 axis is slow
                norm = node_counts[:, 0] + node_counts[:, 1]
            else:
                norm = node_counts.sum(axis=1)
            value = node_counts[:, column] / norm
        total += value
        total_sq += value * value
    n = len(trees)
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0)
    return mean, np.sqrt(var)


def feature_matrix(table, features, rows, log=None):
    """``(X, valid)`` of ctapipe's ``table_to_X(table[rows], features)`` without the copy.

    The selected rows of the feature columns only are gathered into one float32 matrix;
    rows with a NaN feature are dropped (``valid``), infinities become the float32 limits,
    and the same warning as ctapipe's is logged when NaNs are found.
    """
    columns = [np.asarray(table[name])[rows] for name in features]
    n_rows = len(columns[0]) if columns else 0
    X = np.empty((n_rows, len(features)), dtype=np.float32)
    for index, values in enumerate(columns):
        X[:, index] = values
    nan = np.isnan(X)
    valid = ~nan.any(axis=1)
    if not valid.all():
        X = X[valid]
        if log is not None:
            counts = np.count_nonzero(nan, axis=0)
            log.warning("Data contains not-predictable events.")
            log.warning(
                "Number of nan-values in columns: %s",
                ", ".join(f"{f}: {c}" for f, c in zip(features, counts, strict=True) if c > 0),
            )
    np.nan_to_num(X, nan=np.nan, copy=False)
    return X, valid


def prediction_table(columns, container, prefix):
    """Per-telescope prediction table as ctapipe writes it: ``columns`` plus the defaults and
    column descriptions of ``container`` under ``<prefix>_tel_``."""
    result = Table(columns)
    add_defaults_and_meta(result, container, prefix=prefix, add_tel_prefix=True)
    return result


def passing_feature_matrix(reco, key, table):
    """``(table, rows, X)``: what a ctapipe reconstructor predicts on for ``table``.

    ``table`` gets the reconstructor's generated features, ``rows`` are the rows passing its
    quality query and holding no NaN feature, ``X`` their float32 feature matrix.
    """
    if key not in models_of(reco):
        raise KeyError(f"No model available for key {key}")
    table = reco.feature_generator(table, subarray=reco.subarray)
    passing = np.flatnonzero(reco.quality_query.get_table_mask(table))
    X, valid = feature_matrix(table, reco.features, passing, reco.log)
    return table, passing[valid], X


def _predict_passing(reco, key, table):
    """(value, spread, is_valid) for every row; NaN/False where the quality query fails."""
    n_rows = len(table)
    _, rows, X = passing_feature_matrix(reco, key, table)
    value = np.full(n_rows, np.nan)
    uncert = np.full(n_rows, np.nan)
    is_valid = np.zeros(n_rows, dtype=bool)
    if len(X):
        value[rows], uncert[rows] = reco._predict_matrix(key, X)
        is_valid[rows] = True
    return value, uncert, is_valid


class SST1MEnergyRegressor(EnergyRegressor):
    """`~ctapipe.reco.EnergyRegressor` that also writes the tree spread of the energy."""

    def _predict_matrix(self, key, X):
        """Energy and its tree spread for the rows of the feature matrix ``X``."""
        mean, std = forest_mean_std(models_of(self)[key], X)
        if self.log_target:
            energy = np.exp(mean)
            return energy, energy * std
        return mean, std

    def predict_table(self, key, table: Table) -> dict[ReconstructionProperty, Table]:
        """Per-telescope energy, validity and tree spread for the events in ``table``."""
        energy, uncert, is_valid = _predict_passing(self, key, table)
        unit = self.unit if self.unit is not None else u.TeV
        columns = {
            f"{self.prefix}_tel_energy": u.Quantity(energy, unit),
            f"{self.prefix}_tel_energy_{UNCERT_SUFFIX}": u.Quantity(uncert, unit),
            f"{self.prefix}_tel_is_valid": is_valid,
        }
        result = prediction_table(columns, ReconstructedEnergyContainer, self.prefix)
        return {ReconstructionProperty.ENERGY: result}


class SST1MParticleClassifier(ParticleClassifier):
    """`~ctapipe.reco.ParticleClassifier` that also writes the tree spread of the gammaness."""

    def _predict_matrix(self, key, X):
        """Gammaness and its tree spread for the rows of the feature matrix ``X``."""
        return forest_mean_std(models_of(self)[key], X, positive_class_index(self, key))

    def predict_table(self, key, table: Table) -> dict[ReconstructionProperty, Table]:
        """Per-telescope gammaness, validity and tree spread for the events in ``table``."""
        score, uncert, is_valid = _predict_passing(self, key, table)
        columns = {
            f"{self.prefix}_tel_prediction": score,
            f"{self.prefix}_tel_prediction_{UNCERT_SUFFIX}": uncert,
            f"{self.prefix}_tel_is_valid": is_valid,
        }
        result = prediction_table(columns, ParticleClassificationContainer, self.prefix)
        return {ReconstructionProperty.PARTICLE_TYPE: result}

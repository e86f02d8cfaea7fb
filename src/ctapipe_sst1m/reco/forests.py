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
from ctapipe.reco.preprocessing import table_to_X
from ctapipe.reco.reconstructor import ReconstructionProperty
from ctapipe.reco.utils import add_defaults_and_meta

from ..version import __version__  # noqa: F401  (ctapipe-info --plugins reports it)
from .combiners import UNCERT_SUFFIX

__all__ = ["SST1MEnergyRegressor", "SST1MParticleClassifier", "forest_mean_std"]


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
            value = node_counts[:, column] / node_counts.sum(axis=1)
        total += value
        total_sq += value * value
    n = len(trees)
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0)
    return mean, np.sqrt(var)


def _predict_passing(reco, key, table):
    """(value, spread, is_valid) for every row; NaN/False where the quality query fails."""
    table = reco.feature_generator(table, subarray=reco.subarray)
    n_rows = len(table)
    value = np.full(n_rows, np.nan)
    uncert = np.full(n_rows, np.nan)
    is_valid = np.zeros(n_rows, dtype=bool)
    passing = reco.quality_query.get_table_mask(table)
    value[passing], uncert[passing], is_valid[passing] = reco._predict_with_uncert(
        key, table[passing]
    )
    return value, uncert, is_valid


class SST1MEnergyRegressor(EnergyRegressor):
    """`~ctapipe.reco.EnergyRegressor` that also writes the tree spread of the energy."""

    def _predict_with_uncert(self, key, table):
        if key not in self._models:
            raise KeyError(f"No model available for key {key}")
        X, valid = table_to_X(table, self.features, self.log)
        energy = np.full(len(table), np.nan)
        uncert = np.full(len(table), np.nan)
        if np.any(valid):
            mean, std = forest_mean_std(self._models[key], X)
            if self.log_target:
                energy[valid] = np.exp(mean)
                uncert[valid] = energy[valid] * std
            else:
                energy[valid] = mean
                uncert[valid] = std
        return energy, uncert, valid

    def predict_table(self, key, table: Table) -> dict[ReconstructionProperty, Table]:
        """Per-telescope energy, validity and tree spread for the events in ``table``."""
        energy, uncert, is_valid = _predict_passing(self, key, table)
        unit = self.unit if self.unit is not None else u.TeV
        result = Table(
            {
                f"{self.prefix}_tel_energy": u.Quantity(energy, unit),
                f"{self.prefix}_tel_energy_{UNCERT_SUFFIX}": u.Quantity(uncert, unit),
                f"{self.prefix}_tel_is_valid": is_valid,
            }
        )
        add_defaults_and_meta(
            result, ReconstructedEnergyContainer, prefix=self.prefix, add_tel_prefix=True
        )
        return {ReconstructionProperty.ENERGY: result}


class SST1MParticleClassifier(ParticleClassifier):
    """`~ctapipe.reco.ParticleClassifier` that also writes the tree spread of the gammaness."""

    def _predict_with_uncert(self, key, table):
        if key not in self._models:
            raise KeyError(f"No model available for key {key}")
        X, valid = table_to_X(table, self.features, self.log)
        score = np.full(len(table), np.nan)
        uncert = np.full(len(table), np.nan)
        if np.any(valid):
            column = self._get_positive_index(key)
            score[valid], uncert[valid] = forest_mean_std(self._models[key], X, column)
        return score, uncert, valid

    def predict_table(self, key, table: Table) -> dict[ReconstructionProperty, Table]:
        """Per-telescope gammaness, validity and tree spread for the events in ``table``."""
        score, uncert, is_valid = _predict_passing(self, key, table)
        result = Table(
            {
                f"{self.prefix}_tel_prediction": score,
                f"{self.prefix}_tel_prediction_{UNCERT_SUFFIX}": uncert,
                f"{self.prefix}_tel_is_valid": is_valid,
            }
        )
        add_defaults_and_meta(
            result, ParticleClassificationContainer, prefix=self.prefix, add_tel_prefix=True
        )
        return {ReconstructionProperty.PARTICLE_TYPE: result}

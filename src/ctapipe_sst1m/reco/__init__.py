"""Reconstruction: SST-1M random-forest reconstructors, stereo combiners, model banks.

Importing this module registers the combiners and reconstructors with ctapipe (they become
valid values of ``stereo_combiner_cls`` and of the ``ctapipe_reco`` plugin group).
"""

from ..version import __version__
from .combiners import MarsLikeDispCombiner, SST1MMeanCombiner, grouped_weighted_mean
from .forests import SST1MEnergyRegressor, SST1MParticleClassifier, forest_mean_std

__all__ = [
    "__version__",
    "MarsLikeDispCombiner",
    "SST1MMeanCombiner",
    "SST1MEnergyRegressor",
    "SST1MParticleClassifier",
    "forest_mean_std",
    "grouped_weighted_mean",
]

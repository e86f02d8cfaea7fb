"""ctapipe-sst1m: the analysis chain of the SST-1M telescopes as a ctapipe plugin.

Importing the package switches astropy to offline mode (see :mod:`ctapipe_sst1m._offline`).
Sub-packages: ``instrument``, ``io``, ``calib``, ``image``, ``stereo``, ``reco``, ``irf``,
``dl3``, ``analysis``, ``simulation``, ``orchestration`` and ``tools``.
"""

from ._offline import disable_network_downloads
from .version import __version__

disable_network_downloads()

__all__ = ["__version__"]

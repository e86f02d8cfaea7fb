"""ctapipe-sst1m: the analysis chain of the SST-1M telescopes as a ctapipe plugin.

Importing the package switches astropy to offline mode (see :mod:`ctapipe_sst1m._offline`)
and silences one harmless PyTables warning about ctapipe's metadata names
(:mod:`ctapipe_sst1m._warnings`).
Sub-packages: ``instrument``, ``io``, ``calib``, ``image``, ``stereo``, ``reco``, ``irf``,
``dl3``, ``analysis``, ``simulation``, ``orchestration`` and ``tools``.
"""

from ._offline import disable_network_downloads
from ._warnings import silence_known_warnings
from .version import __version__

disable_network_downloads()
silence_known_warnings()

__all__ = ["__version__"]

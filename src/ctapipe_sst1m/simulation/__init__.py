"""Toy SST-1M Monte Carlo (a test and demonstration instrument, not sim_telarray).

The toy links image parameters to the true shower through simple, documented relations
(see ``docs/guide/toy_mc.rst``), so that reconstruction and machine learning learn something
real, and it writes the simulation bookkeeping that ctapipe's IRF tools and pyirf need.
Real Monte Carlo keeps going through ctapipe's ``SimTelEventSource``.
"""

from .atmosphere import height_from_slant_depth, slant_depth_from_height
from .camera import CameraNoiseModel, ClusterTrigger
from .event_source import TOY_SUFFIX, SST1MToyEventSource
from .image_model import ShowerImageModel, TelescopeView, render_expected_image, signal_times
from .showers import PARTICLE_DEFAULTS, PARTICLES, PRIMARY_IDS, ShowerGenerator, ThrownShowers

__all__ = [
    "PARTICLES",
    "PARTICLE_DEFAULTS",
    "PRIMARY_IDS",
    "TOY_SUFFIX",
    "CameraNoiseModel",
    "ClusterTrigger",
    "ShowerGenerator",
    "ShowerImageModel",
    "SST1MToyEventSource",
    "TelescopeView",
    "ThrownShowers",
    "height_from_slant_depth",
    "make_toy_file",
    "render_expected_image",
    "signal_times",
    "slant_depth_from_height",
]


def __getattr__(name):
    # the production (ctapipe.reco, scikit-learn) loads only when asked for: the toy nights
    # start about a third faster without it
    if name == "make_toy_file":
        from .production import make_toy_file

        return make_toy_file
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

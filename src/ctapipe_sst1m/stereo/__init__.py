"""Stereo: coincident-event matching between telescopes and stereo geometry.

Matchers (ctapipe ``Component``\\ s, usable by any two-telescope pipeline)::

    from ctapipe_sst1m.stereo import WhiteRabbitClosest
    i1, i2 = WhiteRabbitClosest()(table_tel1, table_tel2)
"""

from .core import coincidence_profile, nearest_unique_pairs, peak_width, refine_offset
from .matching import (
    ERA_SWAT,
    ERA_WHITE_RABBIT,
    EventMatcher,
    MatchDiagnostics,
    MatchingInputError,
    SlidingWindow,
    SWATEventIDs,
    WhiteRabbitClosest,
    matcher_name_for_date,
)
from .timestamps import time_to_ns

__all__ = [
    "ERA_SWAT",
    "ERA_WHITE_RABBIT",
    "EventMatcher",
    "MatchDiagnostics",
    "MatchingInputError",
    "SWATEventIDs",
    "SlidingWindow",
    "StereoGeometryQuery",
    "TableHillasReconstructor",
    "WhiteRabbitClosest",
    "coincidence_profile",
    "hillas_stereo_geometry",
    "matcher_name_for_date",
    "nearest_unique_pairs",
    "peak_width",
    "refine_offset",
    "time_to_ns",
]

#: names of the stereo geometry, imported on first use: it needs ctapipe.reco (and with it
#: scikit-learn), which the matchers and the toy nights do not
_GEOMETRY = ("StereoGeometryQuery", "TableHillasReconstructor", "hillas_stereo_geometry")


def __getattr__(name):
    if name in _GEOMETRY:
        from . import geometry

        return getattr(geometry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

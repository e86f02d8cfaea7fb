"""SST-1M optics: a 4 m Davies–Cotton dish of 18 hexagonal facets.

Values as published and as in the SST-1M simulation model: equivalent focal length 5.6 m,
effective focal length (including the coma shift) 5.69705 m, 9.418 m² of mirror.

The numbers are stored as the nearest ``float32`` values on purpose: ctapipe compares
``OpticsDescription`` objects through a hash that rounds focal lengths to four decimals, and
descriptions read from files written with ``float32`` (sim_telarray, older ctapipe) would
otherwise compare unequal and break the telescope-type look-up of trained models.
"""

import astropy.units as u
import numpy as np
from ctapipe.instrument import OpticsDescription, ReflectorShape, SizeType

__all__ = [
    "OPTICS_NAME",
    "EQUIVALENT_FOCAL_LENGTH",
    "EFFECTIVE_FOCAL_LENGTH",
    "MIRROR_AREA",
    "N_MIRROR_TILES",
    "sst1m_optics",
]


def _f32(value):
    return float(np.float32(value))


OPTICS_NAME = "1M"
EQUIVALENT_FOCAL_LENGTH = _f32(5.6) * u.m
EFFECTIVE_FOCAL_LENGTH = _f32(5.69705) * u.m
MIRROR_AREA = _f32(9.418093) * u.m**2
N_MIRROR_TILES = 18


def sst1m_optics(equivalent_focal_length=EQUIVALENT_FOCAL_LENGTH):
    """The SST-1M ``OpticsDescription``."""
    return OpticsDescription(
        name=OPTICS_NAME,
        size_type=SizeType.SST,
        n_mirrors=1,
        equivalent_focal_length=u.Quantity(_f32(equivalent_focal_length.to_value(u.m)), u.m),
        effective_focal_length=EFFECTIVE_FOCAL_LENGTH,
        mirror_area=MIRROR_AREA,
        n_mirror_tiles=N_MIRROR_TILES,
        reflector_shape=ReflectorShape.DAVIES_COTTON,
    )

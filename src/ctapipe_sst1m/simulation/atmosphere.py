"""Isothermal atmosphere: conversions between slant depth and height along a shower axis.

The toy needs only one relation: where along its axis a shower reaches a given atmospheric
depth. An exponential (isothermal) atmosphere, ``X_vertical(h) = X_ground0 · exp(-h / H)``,
with the vertical depth measured from the top of the atmosphere and ``h`` the height above
sea level, is accurate to ~10 % between 2 and 15 km, which is plenty for a toy.
"""

import numpy as np

__all__ = [
    "SCALE_HEIGHT_M",
    "SEA_LEVEL_DEPTH_G_CM2",
    "height_from_slant_depth",
    "slant_depth_from_height",
]

#: Scale height of the isothermal atmosphere [m].
SCALE_HEIGHT_M = 8400.0
#: Vertical atmospheric depth at sea level [g/cm²].
SEA_LEVEL_DEPTH_G_CM2 = 1030.0


def height_from_slant_depth(
    slant_depth, zenith_rad, scale_height=SCALE_HEIGHT_M, sea_level_depth=SEA_LEVEL_DEPTH_G_CM2
):
    """Height above sea level [m] where a shower of the given zenith angle reaches a depth.

    Parameters
    ----------
    slant_depth : array-like
        Depth along the shower axis from the top of the atmosphere [g/cm²].
    zenith_rad : array-like
        Zenith angle of the shower axis [rad] (flat-Earth approximation).
    scale_height, sea_level_depth : float
        Parameters of the isothermal atmosphere [m] and [g/cm²].
    """
    vertical = np.asarray(slant_depth, dtype=float) * np.cos(zenith_rad)
    vertical = np.clip(vertical, 1e-3, None)
    return scale_height * np.log(sea_level_depth / vertical)


def slant_depth_from_height(
    height, zenith_rad, scale_height=SCALE_HEIGHT_M, sea_level_depth=SEA_LEVEL_DEPTH_G_CM2
):
    """Slant depth [g/cm²] at a height above sea level [m] along an inclined axis."""
    vertical = sea_level_depth * np.exp(-np.asarray(height, dtype=float) / scale_height)
    return vertical / np.cos(zenith_rad)

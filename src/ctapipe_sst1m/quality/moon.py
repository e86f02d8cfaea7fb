"""Moon geometry of an observation: altitude, separation from the pointing, illumination.

Offline: astropy's builtin ephemeris (no download), IERS tables of the installed
``astropy-iers-data`` (the package switches astropy's downloads off).
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, get_body, solar_system_ephemeris

__all__ = ["illuminated_fraction", "moon_geometry"]


def illuminated_fraction(moon, sun):
    """Illuminated fraction of the Moon's disk (0 new, 1 full) from geocentric positions.

    Phase angle i (Sun-Moon-Earth) from the elongation ψ and the distances:
    tan i = r_sun sin ψ / (r_moon - r_sun cos ψ); fraction k = (1 + cos i) / 2.
    """
    elongation = sun.separation(moon)
    r_sun = sun.distance
    r_moon = moon.distance
    phase = np.arctan2(r_sun * np.sin(elongation), r_moon - r_sun * np.cos(elongation))
    return np.asarray((1 + np.cos(phase)) / 2, dtype=float)


def moon_geometry(time, location, pointing_alt, pointing_az):
    """(Moon altitude [deg], separation from the pointing [deg], illuminated fraction).

    ``time`` (scalar or array `~astropy.time.Time`), ``location`` (`EarthLocation`),
    ``pointing_alt/az`` (Quantity, same shape as ``time`` or scalar).
    """
    with solar_system_ephemeris.set("builtin"):
        moon = get_body("moon", time, location)
        sun = get_body("sun", time, location)
    frame = AltAz(obstime=time, location=location)
    moon_altaz = moon.transform_to(frame)
    pointing = AltAz(alt=pointing_alt, az=pointing_az, obstime=time, location=location)
    separation = moon_altaz.separation(pointing)
    fraction = illuminated_fraction(moon, sun)
    return (
        np.asarray(moon_altaz.alt.to_value(u.deg)),
        np.asarray(separation.to_value(u.deg)),
        fraction,
    )

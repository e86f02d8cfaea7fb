"""Geometry helpers agree with ctapipe/astropy coordinate transformations."""

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, SkyCoord
from ctapipe.containers import ReconstructedGeometryContainer
from ctapipe.coordinates import TelescopeFrame, shower_impact_distance

from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.simulation.atmosphere import height_from_slant_depth, slant_depth_from_height
from ctapipe_sst1m.simulation.geometry import (
    altaz_to_ground_vector,
    altaz_to_telescope_frame,
    impact_distance,
    telescope_frame_to_altaz,
)


def test_telescope_frame_matches_ctapipe():
    rng = np.random.default_rng(0)
    p_alt, p_az = np.deg2rad(65.0), np.deg2rad(123.0)
    alt = p_alt + np.deg2rad(rng.uniform(-5, 5, 50))
    az = p_az + np.deg2rad(rng.uniform(-5, 5, 50))
    lon, lat = altaz_to_telescope_frame(alt, az, p_alt, p_az)

    pointing = SkyCoord(alt=p_alt * u.rad, az=p_az * u.rad, frame=AltAz())
    coords = SkyCoord(alt=alt * u.rad, az=az * u.rad, frame=AltAz())
    fov = coords.transform_to(TelescopeFrame(telescope_pointing=pointing))
    np.testing.assert_allclose(np.rad2deg(lon), fov.fov_lon.to_value(u.deg), atol=1e-9)
    np.testing.assert_allclose(np.rad2deg(lat), fov.fov_lat.to_value(u.deg), atol=1e-9)

    back_alt, back_az = telescope_frame_to_altaz(lon, lat, p_alt, p_az)
    np.testing.assert_allclose(back_alt, alt, atol=1e-12)
    np.testing.assert_allclose(back_az, az, atol=1e-12)


def test_impact_distance_matches_ctapipe():
    subarray = sst1m_subarray((1, 2))
    positions = subarray.tel_coords.cartesian.xyz.to_value(u.m).T
    alt, az = np.deg2rad(70.0), np.deg2rad(200.0)
    core = np.array([[120.0, -40.0, 0.0]])
    axis = altaz_to_ground_vector([alt], [az])
    ours = impact_distance(core, axis, positions)[0]
    shower = ReconstructedGeometryContainer(
        alt=alt * u.rad, az=az * u.rad, core_x=120 * u.m, core_y=-40 * u.m
    )
    theirs = shower_impact_distance(shower, subarray)
    np.testing.assert_allclose(ours, theirs.to_value(u.m), rtol=1e-6)


def test_atmosphere_round_trip_and_scale():
    zenith = np.deg2rad(30.0)
    h = height_from_slant_depth(345.0, zenith)
    np.testing.assert_allclose(slant_depth_from_height(h, zenith), 345.0)
    # vertical: 1030 g/cm2 at sea level, e-folding every 8.4 km
    np.testing.assert_allclose(height_from_slant_depth(1030.0 / np.e, 0.0), 8400.0)

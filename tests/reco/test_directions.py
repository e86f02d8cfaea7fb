"""The direction helpers offered to the stereo geometry (plain radians, unnormalised vectors)."""

import astropy.units as u
import numpy as np
import pytest

from ctapipe_sst1m.reco.directions import (
    altaz_to_unit_vectors,
    angular_distance,
    spherical_to_unit_vectors,
    unit_vectors_to_altaz,
)


def test_spherical_unit_vectors_are_the_altaz_ones_and_invert():
    rng = np.random.default_rng(5)
    alt = rng.uniform(-80, 89, 100)
    az = rng.uniform(0, 360, 100)
    vectors = spherical_to_unit_vectors(np.deg2rad(az), np.deg2rad(alt))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1.0)
    np.testing.assert_allclose(vectors, altaz_to_unit_vectors(alt * u.deg, az * u.deg))
    back_alt, back_az = unit_vectors_to_altaz(3.0 * vectors)
    np.testing.assert_allclose(back_alt.to_value(u.deg), alt, atol=1e-9)
    np.testing.assert_allclose(back_az.to_value(u.deg), az, atol=1e-9)


def test_angular_distance_needs_no_normalised_vectors():
    a = spherical_to_unit_vectors(0.0, 0.0)
    b = spherical_to_unit_vectors(np.deg2rad(30.0), 0.0)
    assert np.rad2deg(angular_distance(2.0 * a, 0.5 * b)) == pytest.approx(30.0)
    # small angles stay accurate (arccos of a dot product does not)
    c = spherical_to_unit_vectors(1e-9, 0.0)
    assert angular_distance(a, 7.0 * c) == pytest.approx(1e-9, rel=1e-6)

"""DigiCam geometry against the real pixel mapping and the reference array file."""

import astropy.units as u
import numpy as np
import pytest
from ctapipe.coordinates import EngineeringCameraFrame
from ctapipe.instrument import SubarrayDescription

from ctapipe_sst1m.instrument import (
    N_PIXELS,
    digicam_geometry,
    digicam_pixel_positions_engineering,
)


@pytest.fixture(scope="module")
def mapping(reference_dir):
    """Columns pixel_sw_id, x, y (mm) of the real DigiCam mapping file, sorted by sw id."""
    table = np.loadtxt(reference_dir / "digicam_pixels_mapping_V5T.txt", usecols=(8, 9, 10))
    sw_id, x, y = table.T
    order = np.argsort(sw_id)
    return sw_id[order].astype(int), x[order], y[order]


@pytest.fixture(scope="module")
def reference_subarray(reference_dir):
    return SubarrayDescription.from_hdf(reference_dir / "sst1m_array.h5")


@pytest.fixture(scope="module")
def geometry():
    return digicam_geometry()


def test_pixel_positions_match_mapping_file(mapping):
    sw_id, x_ref, y_ref = mapping
    assert np.array_equal(sw_id, np.arange(N_PIXELS))
    x, y = digicam_pixel_positions_engineering()
    err = np.hypot(x.to_value(u.mm) - x_ref, y.to_value(u.mm) - y_ref)
    assert err.max() < 0.01
    # the mapping rounds to 10 µm; the lattice is exact, so the mean error is a few µm
    assert err.mean() < 0.004


def test_row_structure(geometry):
    x, y = digicam_pixel_positions_engineering()
    _, counts = np.unique(np.round(y.to_value(u.mm), 3), return_counts=True)
    assert counts[0] == 1 and counts[1] == 4 and counts[-1] == 2
    assert counts.sum() == N_PIXELS
    assert np.count_nonzero(counts == 36) == 24


def test_engineering_frame_transform_reproduces_mapping(geometry, mapping):
    _, x_ref, y_ref = mapping
    eng = geometry.transform_to(EngineeringCameraFrame())
    np.testing.assert_allclose(eng.pix_x.to_value(u.mm), x_ref, atol=0.01)
    np.testing.assert_allclose(eng.pix_y.to_value(u.mm), y_ref, atol=0.01)


def test_camera_frame_matches_reference_array_file(geometry, reference_subarray):
    for tel_id in (21, 22):
        ref = reference_subarray.tel[tel_id].camera.geometry
        assert np.array_equal(ref.pix_id, geometry.pix_id)
        dx = (geometry.pix_x - ref.pix_x).to_value(u.mm)
        dy = (geometry.pix_y - ref.pix_y).to_value(u.mm)
        assert np.hypot(dx, dy).max() < 0.01
        assert u.isclose(geometry.pix_rotation, ref.pix_rotation)
        assert u.isclose(geometry.cam_rotation, ref.cam_rotation)
        assert u.allclose(geometry.pix_area, ref.pix_area, rtol=1e-5)
        assert geometry.pix_type == ref.pix_type


def test_camera_to_engineering_is_a_mirror(geometry, mapping):
    """x_cam = -y_map and y_cam = -x_map (a reflection, determinant -1)."""
    _, x_map, y_map = mapping
    np.testing.assert_allclose(geometry.pix_x.to_value(u.mm), -y_map, atol=0.01)
    np.testing.assert_allclose(geometry.pix_y.to_value(u.mm), -x_map, atol=0.01)


def test_neighbours(geometry, reference_subarray, mapping):
    counts = np.bincount([len(n) for n in geometry.neighbors], minlength=7)
    assert counts[2] == 3 and counts[3] == 69 and counts[5] == 69 and counts[6] == 1155
    ref = reference_subarray.tel[21].camera.geometry
    assert (geometry.neighbor_matrix_sparse != ref.neighbor_matrix_sparse).nnz == 0

    # neighbours from the mapping file itself: centres one pitch apart
    _, x, y = mapping
    for pix in (0, 1, 647, 648, 1295):
        dist = np.hypot(x - x[pix], y - y[pix])
        expected = set(np.flatnonzero((dist > 1) & (dist < 24.3 * 1.05)))
        assert set(geometry.neighbors[pix]) == expected
    # the first pixel (bottom vertex) has two neighbours, an inner pixel six
    assert sorted(geometry.neighbors[0]) == [2, 3]
    assert len(geometry.neighbors[648]) == 6


def test_pixel_area_and_fov(geometry):
    # the sensitive hexagon, 23.3 mm flat-to-flat, not the 24.3 mm pitch
    assert u.isclose(geometry.pix_area[0], 470.16 * u.mm**2, rtol=1e-4)
    r_max = np.hypot(geometry.pix_x, geometry.pix_y).max()
    assert 0.49 * u.m < r_max < 0.51 * u.m

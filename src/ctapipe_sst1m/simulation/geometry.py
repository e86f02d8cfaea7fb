"""Vectorised shower geometry: axis vectors, impact distances, telescope-frame projection.

All functions work on plain numpy arrays (angles in radians, lengths in metres) so that a
whole chunk of showers is handled at once. The projection into the telescope frame uses the
same rotation as ctapipe's ``TelescopeFrame`` (an offset frame centred on the pointing),
checked against ``SkyCoord.transform_to`` in the tests.

Conventions: ctapipe's ``GroundFrame`` has x to the north, y to the west and z up; azimuth
counts from north towards east.
"""

import numpy as np

__all__ = [
    "altaz_to_ground_vector",
    "ground_vector_to_altaz",
    "altaz_to_telescope_frame",
    "telescope_frame_to_altaz",
    "impact_distance",
]


def altaz_to_ground_vector(alt, az):
    """Unit vector(s) in the ground frame pointing towards the direction (alt, az).

    Returns an array of shape ``(..., 3)``.
    """
    alt = np.asarray(alt, dtype=float)
    az = np.asarray(az, dtype=float)
    cos_alt = np.cos(alt)
    return np.stack([cos_alt * np.cos(az), -cos_alt * np.sin(az), np.sin(alt)], axis=-1)


def ground_vector_to_altaz(vector):
    """Altitude and azimuth [rad] of ground-frame vectors of shape ``(..., 3)``."""
    vector = np.asarray(vector, dtype=float)
    norm = np.linalg.norm(vector, axis=-1)
    alt = np.arcsin(np.clip(vector[..., 2] / norm, -1.0, 1.0))
    az = np.mod(np.arctan2(-vector[..., 1], vector[..., 0]), 2 * np.pi)
    return alt, az


def _offset_rotation(pointing_alt, pointing_az):
    """Rotation taking AltAz cartesian vectors into the offset frame centred on the pointing."""
    ca, sa = np.cos(pointing_az), np.sin(pointing_az)
    cl, sl = np.cos(pointing_alt), np.sin(pointing_alt)
    rot_z = np.array([[ca, sa, 0.0], [-sa, ca, 0.0], [0.0, 0.0, 1.0]])
    rot_y = np.array([[cl, 0.0, sl], [0.0, 1.0, 0.0], [-sl, 0.0, cl]])
    return rot_y @ rot_z


def altaz_to_telescope_frame(alt, az, pointing_alt, pointing_az):
    """Field-of-view coordinates (fov_lon, fov_lat) [rad] of directions (alt, az) [rad].

    Identical to ctapipe's ``TelescopeFrame`` with ``telescope_pointing`` at
    (pointing_alt, pointing_az) and no rotation.
    """
    alt = np.asarray(alt, dtype=float)
    az = np.asarray(az, dtype=float)
    cos_alt = np.cos(alt)
    vec = np.stack([cos_alt * np.cos(az), cos_alt * np.sin(az), np.sin(alt)], axis=-1)
    rotated = vec @ _offset_rotation(pointing_alt, pointing_az).T
    fov_lon = np.arctan2(rotated[..., 1], rotated[..., 0])
    fov_lat = np.arcsin(np.clip(rotated[..., 2], -1.0, 1.0))
    return fov_lon, fov_lat


def telescope_frame_to_altaz(fov_lon, fov_lat, pointing_alt, pointing_az):
    """Inverse of :func:`altaz_to_telescope_frame`; returns (alt, az) [rad]."""
    fov_lon = np.asarray(fov_lon, dtype=float)
    fov_lat = np.asarray(fov_lat, dtype=float)
    cos_lat = np.cos(fov_lat)
    vec = np.stack([cos_lat * np.cos(fov_lon), cos_lat * np.sin(fov_lon), np.sin(fov_lat)], axis=-1)
    altaz_vec = vec @ _offset_rotation(pointing_alt, pointing_az)
    alt = np.arcsin(np.clip(altaz_vec[..., 2], -1.0, 1.0))
    az = np.mod(np.arctan2(altaz_vec[..., 1], altaz_vec[..., 0]), 2 * np.pi)
    return alt, az


def impact_distance(core, axis, position):
    """Perpendicular distance [m] of telescope position(s) to shower axes.

    Parameters
    ----------
    core : array, shape (n, 3)
        A point on each shower axis (the core on the ground) [m].
    axis : array, shape (n, 3)
        Unit vectors along the axes.
    position : array, shape (3,) or (n_tel, 3)
        Telescope position(s) [m].

    Returns
    -------
    array, shape (n,) or (n, n_tel)
    """
    position = np.asarray(position, dtype=float)
    if position.ndim == 1:
        rel = position[None, :] - core
        along = np.sum(rel * axis, axis=-1)
        return np.linalg.norm(rel - along[:, None] * axis, axis=-1)
    rel = position[None, :, :] - core[:, None, :]
    along = np.sum(rel * axis[:, None, :], axis=-1)
    return np.linalg.norm(rel - along[..., None] * axis[:, None, :], axis=-1)

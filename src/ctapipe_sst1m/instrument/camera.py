"""DigiCam camera geometry, generated offline from the hexagonal lattice.

DigiCam has 1296 hexagonal pixels (hexagonal light guides on SiPMs) on a regular hexagonal
grid of 24.3 mm pitch. ctapipe cannot download the camera description on machines without
network access, so the geometry is generated here:

* **Lattice.** In ctapipe's ``EngineeringCameraFrame`` (x to the right, y up, looking at the
  camera from the dish; the frame of the SST-1M pixel mapping file) the pixel centres are
  ``(x, y) = (i·p + j·p/2, j·p·√3/2 − (2/3)·p·√3/2)`` for integers ``i, j`` and pitch ``p``. The
  camera centre is therefore the centroid of a triangle of pixels, not a pixel centre.
* **Outline.** A three-fold symmetric hexagon of apothem ``18·p`` (vertices at the top and the
  bottom) keeps exactly 1296 lattice points: ``n·r ≤ 18p`` for the edge normals at 60°, 180°
  and 300° and ``n·r < 18p`` for those at 0°, 120° and 240°.
* **Order.** Software pixel ids run row by row: sorted by y, then by x (``np.lexsort((x, y))``).

The generated positions agree with ``digicam_pixels_mapping_V5T.txt`` to 5.4 µm (the file
rounds to 10 µm). ctapipe's ``CameraFrame`` is related to the engineering frame by the mirror
``x_cam = −y_eng, y_cam = −x_eng`` (one reflection: ``CameraGeometry.transform_to(
EngineeringCameraFrame())`` reproduces the mapping file exactly); the geometry returned by
:func:`digicam_geometry` is in ``CameraFrame``, as every ctapipe algorithm expects.

The pixel area is that of the sensitive hexagon, 23.3 mm flat-to-flat (470.16 mm², the value
of the SST-1M simulation model), which is smaller than the 24.3 mm pitch cell.
"""

import astropy.units as u
import numpy as np
from ctapipe.coordinates import CameraFrame
from ctapipe.instrument import CameraGeometry, PixelShape

__all__ = [
    "N_PIXELS",
    "PIXEL_PITCH",
    "SENSITIVE_PIXEL_SIZE",
    "CAMERA_NAME",
    "digicam_pixel_positions_engineering",
    "digicam_geometry",
]

CAMERA_NAME = "DigiCam"
N_PIXELS = 1296
#: centre-to-centre distance of neighbouring pixels (flat-to-flat of the lattice cell)
PIXEL_PITCH = 24.3 * u.mm
#: flat-to-flat size of the sensitive hexagon (light-guide entrance) used for the pixel area
SENSITIVE_PIXEL_SIZE = 23.3 * u.mm
#: apothem of the camera outline in units of the pixel pitch
_OUTLINE_APOTHEM_PITCHES = 18
#: half-range of lattice indices scanned; comfortably larger than the camera
_LATTICE_HALF_RANGE = 45


def digicam_pixel_positions_engineering(pitch=PIXEL_PITCH):
    """Pixel centres in the engineering frame, in software pixel-id order.

    Parameters
    ----------
    pitch : astropy.units.Quantity
        Centre-to-centre pixel distance.

    Returns
    -------
    x, y : astropy.units.Quantity
        Arrays of length 1296 (mm), index = software pixel id.
    """
    p = pitch.to_value(u.mm)
    row_pitch = p * np.sqrt(3) / 2
    idx = np.arange(-_LATTICE_HALF_RANGE, _LATTICE_HALF_RANGE + 1)
    i, j = (a.ravel() for a in np.meshgrid(idx, idx, indexing="ij"))
    x = i * p + j * p / 2
    y = j * row_pitch - 2 / 3 * row_pitch

    apothem = _OUTLINE_APOTHEM_PITCHES * p
    eps = 1e-6 * p
    keep = np.ones(x.size, dtype=bool)
    for angle_deg, inclusive in (
        (60, True),
        (180, True),
        (300, True),
        (0, False),
        (120, False),
        (240, False),
    ):
        angle = np.deg2rad(angle_deg)
        proj = x * np.cos(angle) + y * np.sin(angle)
        keep &= proj <= apothem + eps if inclusive else proj < apothem - eps

    x, y = x[keep], y[keep]
    if x.size != N_PIXELS:  # pragma: no cover - guards the constants above
        raise RuntimeError(f"DigiCam outline selected {x.size} pixels instead of {N_PIXELS}")
    # rows have bit-identical y (same j), so a plain lexsort gives the row-by-row order
    order = np.lexsort((x, y))
    return x[order] * u.mm, y[order] * u.mm


def engineering_to_camera_frame(x_eng, y_eng):
    """Map engineering-frame coordinates to ctapipe ``CameraFrame`` (a single mirror)."""
    return -y_eng, -x_eng


def digicam_geometry(focal_length=None, pitch=PIXEL_PITCH):
    """The DigiCam ``CameraGeometry`` in ctapipe's ``CameraFrame``.

    Parameters
    ----------
    focal_length : astropy.units.Quantity or None
        Focal length attached to the ``CameraFrame`` (needed to go to the telescope frame).
        Defaults to the SST-1M effective focal length.
    pitch : astropy.units.Quantity
        Pixel pitch; only change it for studies.
    """
    from .optics import EFFECTIVE_FOCAL_LENGTH

    if focal_length is None:
        focal_length = EFFECTIVE_FOCAL_LENGTH
    x_eng, y_eng = digicam_pixel_positions_engineering(pitch)
    x_cam, y_cam = engineering_to_camera_frame(x_eng, y_eng)
    area = (np.sqrt(3) / 2 * SENSITIVE_PIXEL_SIZE**2).to(u.m**2)
    return CameraGeometry(
        name=CAMERA_NAME,
        pix_id=np.arange(N_PIXELS),
        pix_x=x_cam.to(u.m),
        pix_y=y_cam.to(u.m),
        pix_area=np.full(N_PIXELS, area.value) * area.unit,
        pix_type=PixelShape.HEXAGON,
        pix_rotation=30 * u.deg,
        cam_rotation=0 * u.deg,
        frame=CameraFrame(focal_length=focal_length),
    )

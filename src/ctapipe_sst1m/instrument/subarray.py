"""The SST-1M array at Ondřejov as a ctapipe ``SubarrayDescription``, built offline.

Telescope positions come from WGS84 coordinates (configurable through
:class:`SST1MArrayLayout`) and are converted to ctapipe's ``GroundFrame`` (x north, y west,
z up) around the array centre.

Heights: the sst1mpipe data configuration gives 510 m for both telescopes, but the array file
of the reference pipeline (``sst1m_array.h5``) places tel 21 1.43 m *below* and tel 22 1.42 m
*above* the array centre (511.195 m, the mean of the two). The defaults here use 509.765 m and
512.615 m so that the ground positions agree with that file in all three coordinates; with the
rounded 510 m the horizontal positions are unchanged (they agree to 5 cm either way).

Monte Carlo numbers the telescopes 1 and 2; :data:`MC_TO_DATA_TEL_ID` maps them onto the data
ids 21 and 22, and MC telescope 1 gets exactly the description of data telescope 21 (same
position, optics, camera and measured reference pulse), so models trained on MC are found for
data.
"""

import astropy.units as u
from astropy.coordinates import EarthLocation
from ctapipe.coordinates import GroundFrame
from ctapipe.core import Component
from ctapipe.core.traits import Dict, List, Unicode
from ctapipe.instrument import CameraDescription, SubarrayDescription, TelescopeDescription

from .camera import CAMERA_NAME, digicam_geometry
from .optics import OPTICS_NAME, sst1m_optics
from .readout import digicam_readout

__all__ = [
    "DATA_TEL_IDS",
    "MC_TEL_IDS",
    "MC_TO_DATA_TEL_ID",
    "SST1MArrayLayout",
    "sst1m_subarray",
    "sst1m_telescope_description",
    "telescope_types_by_id",
]

DATA_TEL_IDS = (21, 22)
MC_TEL_IDS = (1, 2)
MC_TO_DATA_TEL_ID = {1: 21, 2: 22}

_DEFAULT_LOCATIONS = {
    # lon [deg], lat [deg], height [m]
    21: [14.782924, 49.911800, 509.765],
    22: [14.782078, 49.913084, 512.615],
}
_DEFAULT_CENTER = [14.7825010, 49.9124420, 511.195]


def _as_location(values, what):
    try:
        lon, lat, height = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be [lon_deg, lat_deg, height_m], got {values!r}") from None
    return EarthLocation(lon=lon * u.deg, lat=lat * u.deg, height=height * u.m)


def sst1m_telescope_description(data_tel_id=21):
    """``TelescopeDescription`` of one SST-1M telescope (21 or 22; the pulse shapes differ)."""
    if int(data_tel_id) not in DATA_TEL_IDS:
        raise ValueError(
            f"unknown SST-1M telescope {data_tel_id}: known data ids are {list(DATA_TEL_IDS)}"
        )
    optics = sst1m_optics()
    camera = CameraDescription(
        name=CAMERA_NAME,
        geometry=digicam_geometry(focal_length=optics.effective_focal_length),
        readout=digicam_readout(int(data_tel_id)),
    )
    return TelescopeDescription(name=OPTICS_NAME, optics=optics, camera=camera)


class SST1MArrayLayout(Component):
    """Configurable positions of the SST-1M telescopes and the array reference point."""

    name = Unicode("SST1M_miniarray", help="Name of the subarray written into output files.").tag(
        config=True
    )
    telescope_locations = Dict(
        default_value=_DEFAULT_LOCATIONS,
        help=(
            "WGS84 location of each data telescope, {tel_id: [lon_deg, lat_deg, height_m]}. "
            "Keys may be given as strings (JSON/YAML)."
        ),
    ).tag(config=True)
    array_center = List(
        default_value=_DEFAULT_CENTER,
        minlen=3,
        maxlen=3,
        help="WGS84 location [lon_deg, lat_deg, height_m] of the ground-frame origin.",
    ).tag(config=True)
    mc_telescope_ids = Dict(
        default_value=MC_TO_DATA_TEL_ID,
        help="Map of simulation telescope ids to the data telescope they stand for.",
    ).tag(config=True)

    def _data_tel_id(self, tel_id):
        mc_map = {int(k): int(v) for k, v in self.mc_telescope_ids.items()}
        return mc_map.get(int(tel_id), int(tel_id))

    @property
    def reference_location(self):
        """The array centre as an ``EarthLocation``."""
        return _as_location(self.array_center, "SST1MArrayLayout.array_center")

    def ground_position(self, tel_id):
        """Ground-frame position (x north, y west, z up) of a data or MC telescope id."""
        locations = {int(k): v for k, v in self.telescope_locations.items()}
        data_id = self._data_tel_id(tel_id)
        if data_id not in locations:
            raise ValueError(
                f"no location configured for telescope {tel_id}; "
                f"set SST1MArrayLayout.telescope_locations (known: {sorted(locations)})"
            )
        loc = _as_location(locations[data_id], f"location of telescope {data_id}")
        ground = GroundFrame.from_earth_location(loc, self.reference_location)
        return u.Quantity([ground.x, ground.y, ground.z]).to(u.m)

    def subarray(self, tel_ids=DATA_TEL_IDS):
        """Build the ``SubarrayDescription`` for the given data (21, 22) or MC (1, 2) ids."""
        tel_ids = [int(t) for t in tel_ids]
        if len(set(tel_ids)) != len(tel_ids):
            raise ValueError(f"duplicate telescope ids in {tel_ids}")
        descriptions = {t: sst1m_telescope_description(self._data_tel_id(t)) for t in tel_ids}
        positions = {t: self.ground_position(t) for t in tel_ids}
        return SubarrayDescription(
            name=self.name,
            tel_positions=positions,
            tel_descriptions=descriptions,
            reference_location=self.reference_location,
        )


def sst1m_subarray(tel_ids=DATA_TEL_IDS, config=None, parent=None):
    """The SST-1M ``SubarrayDescription`` (data ids 21, 22 or MC ids 1, 2).

    Parameters
    ----------
    tel_ids : sequence of int
        Telescopes to include.
    config, parent :
        Optional traitlets configuration / parent passed to :class:`SST1MArrayLayout`.
    """
    return SST1MArrayLayout(config=config, parent=parent).subarray(tel_ids)


def telescope_types_by_id(subarray):
    """The subarray's telescope types ordered by their lowest telescope id.

    ctapipe orders ``SubarrayDescription.telescope_types`` by name only; the two SST-1M
    telescopes have one name but different cameras (pulse shapes), so their order there is a
    set's and changes between interpreters. Anything that loops over the types and carries
    state from one to the next (logs, files, random streams) loops over this instead.
    """
    return sorted(subarray.telescope_types, key=lambda t: min(subarray.get_tel_ids_for_type(t)))

"""The SST-1M subarray built offline against the reference array file."""

import astropy.units as u
import numpy as np
import pytest
from ctapipe.instrument import SubarrayDescription
from traitlets.config import Config

from ctapipe_sst1m.instrument import SST1MArrayLayout, sst1m_subarray


@pytest.fixture(scope="module")
def reference_subarray(reference_dir):
    return SubarrayDescription.from_hdf(reference_dir / "sst1m_array.h5")


def test_positions_match_reference(reference_subarray):
    ours = sst1m_subarray()
    assert ours.tel_ids.tolist() == [21, 22]
    for tel_id in (21, 22):
        diff = ours.positions[tel_id] - reference_subarray.positions[tel_id]
        assert np.all(np.abs(diff) < 0.5 * u.m), (tel_id, diff)
    ref_loc = reference_subarray.reference_location
    assert ours.reference_location.lon.deg == pytest.approx(ref_loc.lon.deg, abs=1e-6)
    assert ours.reference_location.lat.deg == pytest.approx(ref_loc.lat.deg, abs=1e-6)
    assert ours.reference_location.height.to_value(u.m) == pytest.approx(511.195, abs=0.05)


def test_config_heights_keep_horizontal_positions(reference_subarray):
    """The data config's rounded 510 m heights move only z, not the horizontal position."""
    config = Config()
    config.SST1MArrayLayout.telescope_locations = {
        "21": [14.782924, 49.911800, 510.0],
        "22": [14.782078, 49.913084, 510.0],
    }
    ours = sst1m_subarray(config=config)
    for tel_id in (21, 22):
        diff = (ours.positions[tel_id] - reference_subarray.positions[tel_id])[:2]
        assert np.all(np.abs(diff) < 0.1 * u.m)
        assert ours.positions[tel_id][2].to_value(u.m) == pytest.approx(-1.195, abs=0.01)


def test_mc_numbering_has_data_descriptions():
    data = sst1m_subarray((21, 22))
    mc = sst1m_subarray((1, 2))
    assert mc.tel_ids.tolist() == [1, 2]
    assert mc.tel[1] == data.tel[21] and mc.tel[2] == data.tel[22]
    # pulse shapes differ, so the two telescopes are two types (one model each)
    assert len(data.telescope_types) == 2
    assert u.allclose(mc.positions[1], data.positions[21])


def test_hdf_round_trip(tmp_path):
    sub = sst1m_subarray()
    path = tmp_path / "subarray.h5"
    sub.to_hdf(path)
    back = SubarrayDescription.from_hdf(path)
    assert back.tel_ids.tolist() == [21, 22]
    assert u.allclose(back.positions[22], sub.positions[22])
    assert back.tel[21].optics == sub.tel[21].optics


def test_unknown_telescope_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown SST-1M telescope 23"):
        SST1MArrayLayout().subarray((21, 23))
    with pytest.raises(ValueError, match="duplicate"):
        sst1m_subarray((21, 21))


def test_telescope_types_by_id_follows_the_ids_not_the_set_order():
    from ctapipe_sst1m.instrument import telescope_types_by_id

    subarray = sst1m_subarray()
    types = subarray.telescope_types
    assert len(types) == 2 and types[0].name == types[1].name  # ctapipe's order: a set's
    for order in (types, types[::-1]):
        subarray.__dict__["telescope_types"] = tuple(order)  # the lazyproperty's cache
        ids = [list(subarray.get_tel_ids_for_type(t)) for t in telescope_types_by_id(subarray)]
        assert ids == [[21], [22]]

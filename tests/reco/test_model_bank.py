"""Model-bank layout and nearest-node selection."""

import json

import pytest

from ctapipe_sst1m.reco.metadata import MODELS_JSON
from ctapipe_sst1m.reco.model_bank import (
    NodeSelector,
    NoModelNodeError,
    discover_nodes,
    node_name,
)


def _make_bank(tmp_path, nodes):
    for ze, az, nsb in nodes:
        d = tmp_path / node_name(ze, az, nsb)
        d.mkdir()
        (d / MODELS_JSON).write_text(json.dumps({"node": None}))
    return tmp_path


def test_node_name_roundtrip(tmp_path):
    assert node_name(20, 180, 1) == "ze20_az180_nsb1"
    nodes = discover_nodes(_make_bank(tmp_path, [(20, 180, 1.5), (40, 0, 3)]))
    assert [(n.zenith_deg, n.azimuth_deg, n.nsb) for n in nodes] == [(20, 180, 1.5), (40, 0, 3)]


def test_nearest_node_by_cos_zenith_then_azimuth_and_nsb(tmp_path):
    bank = _make_bank(
        tmp_path, [(20, 0, 1), (20, 180, 1), (30, 180, 1), (30, 180, 3), (50, 180, 1)]
    )
    nodes = discover_nodes(bank)
    sel = NodeSelector()
    # cos(27°)=0.891 is closer to cos(30°)=0.866 than to cos(20°)=0.940
    assert sel.select(nodes, 27.0, 170.0, nsb=1.2).path.name == "ze30_az180_nsb1"
    assert sel.select(nodes, 27.0, 170.0, nsb=2.8).path.name == "ze30_az180_nsb3"
    # azimuth wraps: 350° is 10° from 0°, 170° from 180°
    assert sel.select(nodes, 21.0, 350.0).path.name == "ze20_az0_nsb1"
    assert sel.select(nodes, 21.0, 200.0).path.name == "ze20_az180_nsb1"


def test_no_node_for_pointing_is_one_line_error(tmp_path):
    nodes = discover_nodes(_make_bank(tmp_path, [(20, 180, 1)]))
    with pytest.raises(NoModelNodeError, match="no model node for zenith 60.0") as err:
        NodeSelector().select(nodes, 60.0, 180.0, source="run.h5")
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("run.h5")
    # a wider tolerance accepts it
    assert NodeSelector(max_delta_cos_zenith=0.5).select(nodes, 60.0, 180.0) is nodes[0]


def test_plain_model_directory_is_single_node_and_metadata_wins(tmp_path):
    (tmp_path / MODELS_JSON).write_text(
        json.dumps({"node": {"zenith_deg": 35.0, "azimuth_deg": 90.0, "nsb": None}})
    )
    (node,) = discover_nodes(tmp_path)
    assert (node.zenith_deg, node.azimuth_deg, node.nsb) == (35.0, 90.0, None)


def test_empty_bank_error(tmp_path):
    with pytest.raises(NoModelNodeError, match="holds no model directory"):
        discover_nodes(tmp_path)

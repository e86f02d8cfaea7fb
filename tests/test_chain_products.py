"""The shared end-to-end products (tests/helpers/chain.py) are what later stages assume."""

import numpy as np
from chain import N_RUNS, TEL_SETUPS, ZENITH_NODES
from ctapipe.io import read_table

from ctapipe_sst1m.io import datamodel as dm
from ctapipe_sst1m.irf.bank import list_bank


def test_bank_has_every_setup_node_and_kind(chain):
    bank = list_bank(chain.irf_bank)
    for setup in TEL_SETUPS:
        rows = bank[bank["tel_setup"] == setup]
        assert sorted(set(np.round(rows["zenith"], 1))) == list(ZENITH_NODES)
        assert sorted(set(rows["type"])) == ["FULL-ENCLOSURE", "POINT-LIKE"]


def test_night_zenith_grows_inside_the_bank(chain):
    runs = chain.truth["runs"]
    assert len(runs) == N_RUNS
    zenith = [np.mean(r["telescopes"]["21"]["pointing_zenith_deg"]) for r in runs]
    # the Crab sets through the night: from its culmination (28°) to well past the middle node
    assert zenith[0] < 29 and zenith[-1] > 34
    assert min(ZENITH_NODES) < min(zenith) and max(zenith) < max(ZENITH_NODES)
    assert [r["wobble"] for r in runs[:2]] == ["W1", "W2"]


def test_night_dl2_holds_every_run_with_reconstructions(chain):
    trigger = read_table(chain.stereo_dl2, dm.DL1_SUBARRAY_TRIGGER_TABLE)
    assert sorted(set(trigger["obs_id"])) == [r["obs_id"] for r in chain.truth["runs"]]
    for tel_id in (21, 22):
        assert len(chain.mono_dl2(tel_id)) == N_RUNS
    classification = [
        n for n in _nodes(chain.stereo_dl2) if n.startswith("/dl2/event/subarray/particle_type/")
    ]
    assert classification, "no stereo gammaness in the night's DL2"
    gammaness = read_table(chain.stereo_dl2, classification[0])
    score = next(c for c in gammaness.colnames if c.endswith("_prediction"))
    valid = np.isfinite(gammaness[score])
    assert valid.sum() > 200 and 0 <= np.nanmin(gammaness[score]) < np.nanmax(gammaness[score]) <= 1


def _nodes(path):
    import tables

    with tables.open_file(path) as f:
        return [n._v_pathname for n in f.walk_nodes("/", "Table")]

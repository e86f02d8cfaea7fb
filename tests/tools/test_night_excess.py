"""The gamma excess of a toy night: DL1 runs -> sst1m-dl1-stereo -> sst1m-dl1-dl2 -> ON/OFF.

The models are the toy-MC models of the session fixture ``toy`` (``tests/tools/conftest.py``,
zenith 20°); the night observes Mrk 421 from 20° zenith in two wobbles, with the source flux
scaled up so that a few short runs hold enough gammas. The excess (ON − reflected OFF) must agree
with the number of injected gammas in the ON region within Poisson errors.
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table, join
from ctapipe.core import run_tool
from ctapipe.io import read_table

from ctapipe_sst1m.simulation.night import run_night
from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

THETA_CUT = 0.4 * u.deg
GAMMANESS_CUT = 0.5


@pytest.mark.slow
def test_excess_of_a_toy_night_matches_the_injected_gammas(toy, tmp_path):
    _, _, models = toy
    night = run_night(
        tmp_path / "night",
        date="2024-03-05",
        target="Mrk 421",
        n_runs=4,
        run_duration=40.0,
        seed=21,
        config={
            "NightSimulator": {"source_flux_scale": 15.0, "background_reduction": 0.5},
            "NightSchedule": {"start_zenith": "20 deg", "spread_runs": False},
        },
        extra_args=("--runs-per-wobble=1",),
    )
    truth = json.loads((night / "truth.json").read_text())
    stereo = tmp_path / "stereo.dl1.h5"
    argv = [
        f"--tel1={night}/SST1M1_*.dl1.h5",
        f"--tel2={night}/SST1M2_*.dl1.h5",
        f"--output={stereo}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(DL1StereoTool(), argv, cwd=tmp_path, raises=True) == 0
    dl2 = tmp_path / "night.dl2.h5"
    argv = ["-i", str(stereo), "-m", str(models), "-o", str(dl2), "--no-progress"]
    assert run_tool(DL1ToDL2Tool(), argv, cwd=tmp_path, raises=True) == 0

    stereo_modes = json.loads((models / "models.json").read_text())["modes"]["stereo"]
    disp, classifier = stereo_modes["disp"]["prefix"], stereo_modes["classifier"]["prefix"]
    keys = ["obs_id", "event_id"]
    sky = read_table(dl2, f"/dl2/event/subarray/sky/{disp}")[[*keys, f"{disp}_ra", f"{disp}_dec"]]
    geometry = read_table(dl2, f"/dl2/event/subarray/geometry/{disp}")
    gh = read_table(dl2, f"/dl2/event/subarray/particle_type/{classifier}")
    events = join(sky, geometry[[*keys, f"{disp}_is_valid"]], keys=keys)
    events = join(events, gh[[*keys, f"{classifier}_prediction"]], keys=keys)
    matched = read_table(stereo, "/dl1/service/stereo_matching/events")
    matched = matched[[*keys, "tel_021_obs_id", "tel_021_event_id"]]
    events = join(events, matched, keys=keys)
    true = Table.read(night / "truth_events.fits")
    true = true[true["tel_id"] == 21]["obs_id", "event_id", "shower_primary_id"]
    true.rename_columns(["obs_id", "event_id"], ["tel_021_obs_id", "tel_021_event_id"])
    events = join(events, true, keys=["tel_021_obs_id", "tel_021_event_id"])

    valid = np.asarray(events[f"{disp}_is_valid"]) & (
        np.asarray(events[f"{classifier}_prediction"]) > GAMMANESS_CUT
    )
    events = events[valid]
    target = SkyCoord(truth["target"]["ra_deg"] * u.deg, truth["target"]["dec_deg"] * u.deg)
    wobble = {
        r["obs_id"]: SkyCoord(r["wobble_ra_deg"] * u.deg, r["wobble_dec_deg"] * u.deg)
        for r in truth["runs"]
    }
    reco = SkyCoord(events[f"{disp}_ra"].quantity, events[f"{disp}_dec"].quantity)
    on = reco.separation(target) < THETA_CUT
    off = np.zeros(len(events), dtype=bool)
    for obs_id, position in wobble.items():
        rows = np.asarray(events["obs_id"]) == obs_id
        # the reflected region: the target mirrored through the wobble position
        mirror = position.directional_offset_by(
            position.position_angle(target) + 180 * u.deg, position.separation(target)
        )
        off[rows] = reco[rows].separation(mirror) < THETA_CUT
    n_on, n_off = int(on.sum()), int(off.sum())
    injected = int(np.count_nonzero(on & (np.asarray(events["shower_primary_id"]) == 0)))
    excess = n_on - n_off
    sigma = np.sqrt(n_on + n_off)
    print(f"ON {n_on}, OFF {n_off}, excess {excess} ± {sigma:.1f}, injected gammas {injected}")
    assert injected >= 20
    assert excess > 3 * sigma
    assert abs(excess - injected) < 3 * sigma

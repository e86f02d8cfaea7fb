"""sst1m-train-models and sst1m-dl1-dl2 on the toy MC (train on seed 1, apply on seed 2)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tables
from ctapipe.core import run_tool

from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
from ctapipe_sst1m.tools.train_models import TrainModelsTool

BIN = Path(sys.executable).parent

SMALL = """
EnergyRegressor:
  model_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
DispReconstructor:
  norm_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
  sign_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
ParticleClassifier:
  model_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
"""


def _simulate(tmp, particle, n, seed, stereo=True):
    dl1 = tmp / f"{particle}_{seed}.dl1.h5"
    subprocess.run(
        [
            str(BIN / "sst1m-simulate"),
            "--particle",
            particle,
            "--n-showers",
            str(n),
            "--seed",
            str(seed),
            "-o",
            str(dl1),
            "-q",
        ],
        check=True,
    )
    if not stereo:
        return dl1
    out = tmp / f"{particle}_{seed}.h5"
    subprocess.run(
        [
            str(BIN / "ctapipe-process"),
            "-i",
            str(dl1),
            "-o",
            str(out),
            "--write-parameters",
            "-q",
            "--no-progress",
            "--ShowerProcessor.reconstructor_types=HillasReconstructor",
            "--DataWriter.write_dl2=True",
        ],
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy_dl2")
    files = {
        "gamma": _simulate(tmp, "gamma-diffuse", 40000, 1),
        "proton": _simulate(tmp, "proton", 100000, 1),
        "gamma_test": _simulate(tmp, "gamma-diffuse", 15000, 2),
        "mono_only": _simulate(tmp, "gamma-diffuse", 3000, 3, stereo=False),
    }
    (tmp / "small.yaml").write_text(SMALL)
    models = tmp / "models"
    ret = run_tool(
        TrainModelsTool(),
        [
            "--gamma",
            str(files["gamma"]),
            "--proton",
            str(files["proton"]),
            "-o",
            str(models),
            "-c",
            str(tmp / "small.yaml"),
        ],
    )
    assert ret == 0
    return tmp, files, models


@pytest.mark.slow
def test_performance_beats_baselines_and_stereo_beats_mono(toy):
    _, _, models = toy
    perf = json.loads((models / "performance.json").read_text())
    for key, m in {**perf["mono"], **perf["stereo"]}.items():
        print(
            key,
            m["energy_resolution_all"],
            m["energy_bias_all"],
            m["angular_resolution_68_all_deg"],
            m["auc"],
        )
        # trivial baselines: resolution of guessing one energy over a decade ~ 1, AUC 0.5
        assert m["energy_resolution_all"] < 0.7, key
        assert abs(m["energy_bias_all"]) < 0.25, key
        assert m["auc"] > 0.75, key
    mono = min(m["angular_resolution_68_all_deg"] for m in perf["mono"].values())
    assert perf["stereo"]["stereo"]["angular_resolution_68_all_deg"] < 0.8 * mono
    meta = json.loads((models / "models.json").read_text())
    assert set(meta["modes"]) == {"mono", "stereo"}
    assert meta["modes"]["stereo"]["energy"]["features"][-1] == "HillasReconstructor_h_max"
    assert (models / "report" / "performance.png").is_file()


@pytest.mark.slow
def test_dl1_dl2_stereo_and_stock_apply(toy):
    tmp, files, models = toy
    out = tmp / "test.dl2.h5"
    assert (
        run_tool(
            DL1ToDL2Tool(), ["-i", str(files["gamma_test"]), "-m", str(models), "-o", str(out)]
        )
        == 0
    )
    with tables.open_file(out) as f:
        geo = f.root.dl2.event.subarray.geometry.disp.read()
        assert "disp_min_distance" in geo.dtype.names
        assert np.count_nonzero(geo["disp_is_valid"]) > 10
        info = f.root.dl2.sst1m_models.read()
        assert len(info) == 3
    stock = tmp / "stock.dl2.h5"
    cmd = [str(BIN / "ctapipe-apply-models"), "-i", str(files["gamma_test"]), "-o", str(stock)]
    for kind in ("energy", "disp", "classifier"):
        cmd += ["-r", str(models / "stereo" / f"{kind}.pkl")]
    subprocess.run(cmd, check=True)
    with tables.open_file(stock) as f:
        stock_geo = f.root.dl2.event.subarray.geometry.disp.read()
    np.testing.assert_allclose(stock_geo["disp_alt"], geo["disp_alt"], equal_nan=True)


@pytest.mark.slow
def test_bad_inputs_one_line_errors(toy):
    tmp, files, models = toy
    ret = run_tool(
        DL1ToDL2Tool(),
        [
            "-i",
            str(files["mono_only"]),
            "-m",
            str(models),
            "-o",
            str(tmp / "x.h5"),
            "--mode",
            "stereo",
        ],
        raises=False,
    )
    assert ret == 1
    ret = run_tool(
        DL1ToDL2Tool(),
        [
            "-i",
            str(files["gamma_test"]),
            "-m",
            str(models),
            "-o",
            str(tmp / "y.h5"),
            "--NodeSelector.max_delta_cos_zenith=-1",
        ],
        raises=False,
    )
    assert ret == 1
    # mono file through auto mode falls back to mono models
    assert (
        run_tool(
            DL1ToDL2Tool(),
            ["-i", str(files["mono_only"]), "-m", str(models), "-o", str(tmp / "m.h5")],
        )
        == 0
    )

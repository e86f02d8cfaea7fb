"""sst1m-train-models and sst1m-dl1-dl2 on the toy MC (train on seed 1, apply on seed 2).

The session fixture ``toy`` (files and trained models) lives in ``tests/tools/conftest.py``.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.coordinates import AltAz, SkyCoord
from ctapipe.core import run_tool
from ctapipe.io import TableLoader

from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_performance_beats_baselines_and_stereo_beats_mono(toy, test_dl2):
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

    # resolutions improve with intensity (test sample, low vs high intensity half)
    stereo = meta["modes"]["stereo"]
    prefix = {kind: stereo[kind]["prefix"] for kind in ("energy", "disp")}
    halves = _resolution_by_intensity_half(test_dl2, prefix)
    print("by intensity half:", json.dumps(halves, indent=1))
    low, high = halves["low"], halves["high"]
    # ~155 telescope events per half. The 68 % angular quantile sits on the tail of head-tail
    # (disp sign) failures and swings with the training draw (high/low measured 0.56, 0.82 and
    # 1.00 for three training samples), so the core resolution is asserted on the median
    # angular error (measured 0.68-0.73 for the same three); the energy resolution (measured
    # 0.74-0.84, ~1.3 sigma) just must not be worse
    assert min(low["n"], high["n"]) >= 100
    assert high["median_angular_error_deg"] < 0.85 * low["median_angular_error_deg"]
    assert high["energy_resolution"] < low["energy_resolution"]


@pytest.fixture(scope="module")
def test_dl2(toy):
    """sst1m-dl1-dl2 output of the stereo gamma test sample (seed 2)."""
    tmp, files, models = toy
    out = tmp / "test.dl2.h5"
    if not out.exists():
        argv = ["-i", str(files["gamma_test"]), "-m", str(models), "-o", str(out)]
        assert run_tool(DL1ToDL2Tool(), argv) == 0
    return out


def _resolution_by_intensity_half(dl2, prefix):
    """Energy resolution, median and 68 % angular distance of valid telescope events, per half.

    The halves are split at the median ``hillas_intensity``; both telescopes are pooled.
    """
    with TableLoader(dl2, dl1_parameters=True, dl2=True, simulated=True) as loader:
        events = loader.read_telescope_events()
    valid = np.asarray(events[f"{prefix['energy']}_tel_is_valid"]) & np.asarray(
        events[f"{prefix['disp']}_tel_is_valid"]
    )
    events = events[valid]
    intensity = np.asarray(events["hillas_intensity"])
    rel = (
        events[f"{prefix['energy']}_tel_energy"].quantity / events["true_energy"].quantity
    ).to_value(u.one) - 1
    true = SkyCoord(alt=events["true_alt"].quantity, az=events["true_az"].quantity, frame=AltAz())
    reco = SkyCoord(
        alt=events[f"{prefix['disp']}_tel_alt"].quantity,
        az=events[f"{prefix['disp']}_tel_az"].quantity,
        frame=AltAz(),
    )
    theta = true.separation(reco).to_value(u.deg)
    low = intensity < np.median(intensity)
    result = {}
    for name, mask in (("low", low), ("high", ~low)):
        r = rel[mask]
        result[name] = {
            "n": int(mask.sum()),
            "median_intensity": float(np.median(intensity[mask])),
            "energy_resolution": float(np.quantile(np.abs(r - np.median(r)), 0.68)),
            "angular_resolution_deg": float(np.quantile(theta[mask], 0.68)),
            "median_angular_error_deg": float(np.median(theta[mask])),
        }
    return result


@pytest.mark.slow
def test_dl1_dl2_stereo_and_stock_apply(toy, test_dl2):
    tmp, files, models = toy
    out = test_dl2
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
            f"--provenance-log={tmp / 'p.log'}",
        ],
        raises=False,
    )
    assert ret == 2
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
            f"--provenance-log={tmp / 'p.log'}",
        ],
        raises=False,
    )
    assert ret == 2
    # mono file through auto mode falls back to mono models
    assert (
        run_tool(
            DL1ToDL2Tool(),
            [
                "-i",
                str(files["mono_only"]),
                "-m",
                str(models),
                "-o",
                str(tmp / "m.h5"),
                f"--provenance-log={tmp / 'p.log'}",
            ],
        )
        == 0
    )


def _train(tmp_path, *argv):
    command = [
        str(BIN / "sst1m-train-models"),
        *map(str, argv),
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_too_few_events_says_which_particle_cut_and_how_many(toy, tmp_path):
    """The real commands on a tiny proton sample: one line with the counts, no model written."""
    tmp, files, _ = toy
    protons = tmp_path / "few_protons.dl1.h5"
    result = subprocess.run(
        [
            str(BIN / "sst1m-simulate"),
            "--particle=proton",
            "--n-showers=20000",
            "--seed=9",
            "-o",
            str(protons),
            "-q",
            f"--provenance-log={tmp_path / 'sim.log'}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "models"
    status, stderr = _train(
        tmp_path,
        "--gamma",
        files["gamma"],
        "--proton",
        protons,
        "-o",
        out,
        "-c",
        tmp / "small.yaml",
        "--modes=mono",
        "--TrainingSample.min_training_events=1000",
    )
    assert status == 2
    errors = [line for line in stderr.splitlines() if "ERROR" in line and "--help" not in line]
    assert len(errors) == 1, stderr[-2000:]
    line = errors[0]
    # gammas are read first: the error names the particle, the telescope and the counts
    assert re.search(
        rf"{re.escape(str(files['gamma']))}: gamma telescope events of tel [12]: ", line
    )
    assert "read" in line and "passing the quality cuts" in line
    assert "at least 1000 needed (TrainingSample.min_training_events)" in line
    assert not out.exists()


def test_stereo_training_needs_stereo_geometry(toy, tmp_path):
    tmp, files, _ = toy
    out = tmp_path / "models"
    status, stderr = _train(
        tmp_path, "--gamma", files["mono_only"], "-o", out, "-c", tmp / "small.yaml"
    )
    assert status == 2
    assert "stereo features ['HillasReconstructor_is_valid'" in stderr
    assert "sst1m-simulate" in stderr and not out.exists()


def _option_targets(tool_cls):
    """(option, class name, trait name) of every alias and flag of a tool."""
    for name, target in tool_cls.aliases.items():
        cls_name, trait = target.split(".", 1)
        yield name, cls_name, trait
    for name, (config, _) in tool_cls.flags.items():
        for cls_name, values in config.items():
            for trait in values:
                yield name, cls_name, trait


@pytest.mark.parametrize("tool_path", ["train_models.TrainModelsTool", "dl1_dl2.DL1ToDL2Tool"])
def test_every_alias_and_flag_reaches_a_configured_trait(tool_path):
    """Each option names a trait of the tool (or a base) or of a class the tool configures."""
    import importlib

    from ctapipe.core import Tool

    from ctapipe_sst1m.tools.simulate import SimulateTool

    module, name = tool_path.split(".")
    tools = [getattr(importlib.import_module(f"ctapipe_sst1m.tools.{module}"), name)]
    tools.append(SimulateTool)
    for tool_cls in tools:
        configured = {cls.__name__: cls for cls in tool_cls.__mro__ if issubclass(cls, Tool)}
        for cls in tool_cls.classes:
            for sub in (cls, *cls.__mro__):
                configured.setdefault(sub.__name__, sub)
        for option, cls_name, trait in _option_targets(tool_cls):
            assert cls_name in configured, (tool_cls.name, option, cls_name)
            traits = configured[cls_name].class_traits(config=True)
            assert trait in traits, (tool_cls.name, option, cls_name, trait)
    # the inherited ApplyModels options that sst1m-dl1-dl2 does not read are gone
    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool

    assert ("r", "reconstructor") not in DL1ToDL2Tool.aliases
    assert DL1ToDL2Tool.flags["progress"][0] == {"DL1ToDL2Tool": {"progress_bar": True}}


def test_missing_telescope_table_is_named_and_the_other_is_trained(toy, tmp_path):
    """The same behaviour as sst1m-dl1-dl2: skip the telescope, name it in a warning."""
    tmp, files, _ = toy
    one = tmp_path / "one_tel.dl1.h5"
    shutil.copy(files["mono_only"], one)
    with tables.open_file(one, "a") as f:
        f.remove_node("/dl1/event/telescope/parameters/tel_002")
    out = tmp_path / "models"
    status, stderr = _train(
        tmp_path, "--gamma", one, "-o", out, "-c", tmp / "small.yaml", "--modes=mono"
    )
    assert status == 0, stderr[-2000:]
    warnings = [line for line in stderr.splitlines() if "WARNING" in line and "tel 2" in line]
    assert any("/dl1/event/telescope/parameters/tel_002" in line for line in warnings)
    perf = json.loads((out / "performance.json").read_text())
    assert sorted(perf["mono"]) == ["tel_001"]

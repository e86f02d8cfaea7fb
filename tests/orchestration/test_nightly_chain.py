"""``sst1m-nightly`` end to end, with the real commands on a real + toy night and 2 workers.

The night of 2024-03-05: the two real DigiCam example files copied under night names (the 2017
tel-21 file as ``SST1M1_20240305_0101``, the 2018 tel-22 file as ``SST1M2_20240305_0102``; their
headers carry no TARGET, so ``default_target: Crab`` and its position as pointing), one corrupt
raw file (``SST1M2_20240305_0103``), and run 1 of the shared toy Crab night (fixture ``chain``)
entering at DL1 for both telescopes. The first run is killed (SIGTERM to its process group)
after two tasks finished; the second run resumes it; a third finds nothing to do.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ctapipe.io import read_table

from ctapipe_sst1m.orchestration import Manifest

DATE = "2024-03-05"
NIGHT = "20240305"
pytestmark = pytest.mark.slow


def _nightly(*argv):
    return [sys.executable, "-m", "ctapipe_sst1m.tools.nightly", *map(str, argv)]


def _done(manifest):
    try:
        return {k: e for k, e in Manifest(manifest).tasks.items() if e["status"] == "done"}
    except (OSError, ValueError):
        return {}


@pytest.fixture(scope="module")
def night(chain, protozfits_resources, reference_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    raw = root / "raw"
    for cam, run, source in ((1, 101, "example_100evts.fits.fz"), (2, 102, None), (2, 103, "bad")):
        directory = raw / f"cs{cam}/data/raw/2024/03/05/SST1M{cam}"
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"SST1M{cam}_{NIGHT}_{run:04d}.fits.fz"
        if source == "bad":
            target.write_bytes(b"not a zfits file\n" * 64)
        else:
            source = source or "example_SST1M_20180822.fits.fz"
            shutil.copyfile(protozfits_resources / source, target)
    dl1 = root / "dl1"
    dl1.mkdir()
    for cam in (1, 2):
        name = f"SST1M{cam}_{NIGHT}_0001.dl1.h5"
        shutil.copyfile(chain.night / name, dl1 / name)
    calibration = [
        ["id", 21, str(reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5")],
        ["id", 22, str(reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5")],
    ]
    config = {
        "NightPlanner": {
            "mono_models": str(chain.models),
            "stereo_models": str(chain.models),
            "irf_bank": str(chain.irf_bank),
            "default_target": "Crab",
            "night_summary": False,
            "stage_configs": {
                "r0_dl1": {"DigiCamR0Corrections": {"calibration_file": calibration}},
                # the real 2018 file points 78 deg from the zenith, far from the toy node
                "dl2": {"NodeSelector": {"max_delta_cos_zenith": 1.0}},
            },
        }
    }
    (root / "night.yaml").write_text(yaml.safe_dump(config))
    (root / "ana").mkdir()
    argv = _nightly(
        "--date", DATE, "--raw-dir", raw, "--dl1-dir", dl1, "-o", root / "ana",
        "-c", root / "night.yaml", "--workers", 2, "--provenance-log", root / "nightly.prov.log",
    )  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    manifest = root / "ana" / NIGHT / "manifest.json"

    killed = subprocess.Popen(argv, env=env, start_new_session=True, cwd=root, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 600
    while len(_done(manifest)) < 2 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert killed.poll() is None, "the night ended before it could be interrupted"
    os.killpg(killed.pid, signal.SIGTERM)
    killed_out, _ = killed.communicate(timeout=300)
    at_kill = {
        "code": killed.returncode,
        "part_files": [str(p) for p in root.rglob("*.part*")],
        "done": {
            k: [
                (o["path"], Path(o["path"]).stat().st_mtime_ns, e["finished"]) for o in e["outputs"]
            ]
            for k, e in _done(manifest).items()
        },
    }

    resumed = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True, timeout=1800)
    return {
        "root": root,
        "night_dir": root / "ana" / NIGHT,
        "manifest": manifest,
        "argv": argv,
        "env": env,
        "killed_out": killed_out,
        "at_kill": at_kill,
        "resumed": resumed,
    }


def test_a_killed_night_resumes_without_redoing_finished_products(night):
    at_kill = night["at_kill"]
    assert at_kill["code"] == 130, night["killed_out"]
    assert at_kill["part_files"] == []
    assert len(at_kill["done"]) >= 2
    entries = Manifest(night["manifest"]).tasks
    for key, outputs in at_kill["done"].items():
        for path, mtime, finished in outputs:
            assert Path(path).stat().st_mtime_ns == mtime, f"{key} was redone"
            assert entries[key]["finished"] == finished
    assert not list(night["root"].rglob("*.part*")), "a half-written product was left"


def test_every_product_is_made_except_what_the_corrupt_file_feeds(night):
    resumed = night["resumed"]
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    entries = Manifest(night["manifest"]).tasks
    statuses = {k: e["status"] for k, e in entries.items()}
    bad = "r0_dl1/SST1M2_20240305_0103"
    assert statuses.pop(bad) == "failed"
    assert set(statuses.values()) == {"done"}, statuses
    assert sorted(k.split("/")[0] for k in statuses) == sorted(
        ["r0_dl1"] * 2 + ["stereo"] + ["dl2"] * 5 + ["dl3"] * 3 + ["index"] * 3 + ["quality"]
    )
    log = night["night_dir"] / "unreadable/cs2/DL1/SST1M2_20240305_0103.dl1.log"
    assert entries[bad]["log"] == str(log) and entries[bad]["exit_code"] == 2
    assert "is not a DigiCam zfits file" in entries[bad]["message"]
    summary = resumed.stdout
    assert f"failed      {bad}: {log}" in summary
    assert "1 task(s) did not succeed" in summary


def test_the_manifest_lists_every_product_with_its_log_and_config(night):
    entries = Manifest(night["manifest"]).tasks
    listed = set()
    for entry in entries.values():
        for out in entry["outputs"]:
            listed.add(out["path"])
            listed.update(str(Path(out["path"]) / f) for f in out.get("files", []))
        if entry["status"] != "done":
            continue
        assert entry["exit_code"] == 0 and entry["duration_s"] > 0
        assert entry["software_version"] and len(entry["config_sha256"]) == 64
        config = Path(entry["config"])
        stage_config = night["night_dir"] / "config" / f"{entry['stage']}.yaml"
        assert config.read_text() == stage_config.read_text()
        assert config.parent == Path(entry["log"]).parent
        assert Path(entry["log"]).read_text().startswith("# ")
    products = {
        str(p)
        for pattern in ("*.h5", "*.fits.gz", "*.ecsv")
        for p in night["night_dir"].rglob(pattern)
    }
    assert len(products) >= 15
    assert products <= listed
    meta = json.loads(night["manifest"].read_text())["meta"]
    assert meta["night"] == DATE
    assert meta["targets"] == {"Crab": {"cs1": 2, "cs2": 2}, "unreadable": {"cs2": 1}}


def test_gammapy_opens_the_nights_index(night):
    from gammapy.data import DataStore

    for setup in ("cs1", "cs2", "stereo"):
        store = DataStore.from_dir(night["night_dir"] / "index" / setup)
        assert len(store.obs_table) >= 1
        observations = store.get_observations(required_irf="full-enclosure")
        assert len(observations) == len(store.obs_table)
        assert sum(len(obs.events.table) for obs in observations) > 0


def test_toy_products_equal_those_of_an_uninterrupted_run(night, chain):
    # the shared chain made the mono DL2 of the same run with the same command and models
    for cam, tel in ((1, 21), (2, 22)):
        ours = night["night_dir"] / f"Crab/cs{cam}/DL2/SST1M{cam}_{NIGHT}_0001.dl2.h5"
        reference = chain.mono_dl2(tel)[0]
        assert reference.name == ours.name
        for node in (
            f"/dl2/event/telescope/energy/RandomForestRegressor/tel_{tel:03d}",
            f"/dl2/event/telescope/particle_type/RandomForestClassifier/tel_{tel:03d}",
            "/dl2/event/subarray/geometry/disp",
        ):
            a, b = read_table(ours, node), read_table(reference, node)
            assert len(a) > 0 and a.colnames == b.colnames
            for col in a.colnames:
                np.testing.assert_array_equal(a[col], b[col])


def test_a_rerun_finds_nothing_to_do_and_status_prints_the_table(night):
    before = {p: p.stat().st_mtime_ns for p in night["night_dir"].rglob("*.h5")}
    again = subprocess.run(
        night["argv"], env=night["env"], cwd=night["root"], capture_output=True, text=True
    )
    assert again.returncode == 1  # the corrupt file stays failed until --retry-failed
    lines = [" ".join(line.split()) for line in again.stdout.splitlines()]
    assert "dl2 5 tasks: 5 up-to-date" in lines
    assert "r0_dl1 3 tasks: 2 up-to-date, 1 failed" in lines
    assert {p: p.stat().st_mtime_ns for p in before} == before
    status = subprocess.run(
        _nightly("--status", night["night_dir"], "--provenance-log", night["root"] / "s.log"),
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0
    rows = {r[-2]: r for r in (line.split() for line in status.stdout.splitlines()) if len(r) > 3}
    bad = rows["r0_dl1/SST1M2_20240305_0103"]
    assert bad[:3] == ["r0_dl1", "failed", "2"]
    assert bad[-1] == "unreadable/cs2/DL1/SST1M2_20240305_0103.dl1.log"

"""The night's task graph: file discovery, targets, skipped files, stages, commands."""

import shutil

import numpy as np
import pytest
import tables
from traitlets.config import Config
from workflow_tasks import fake_raw, raw_path

from ctapipe_sst1m.core import SST1MInputError
from ctapipe_sst1m.io.datamodel import OBSERVATION_BLOCK_TABLE
from ctapipe_sst1m.io.zfits import digicam_events_header
from ctapipe_sst1m.orchestration import check_graph
from ctapipe_sst1m.orchestration.night_plan import NightPlanner
from ctapipe_sst1m.orchestration.raw_files import events_header_cards, parse_run_name

DATE = "2024-03-05"


@pytest.fixture
def raw_night(tmp_path):
    root = tmp_path / "raw"
    for cam in (1, 2):
        for run in (1, 2):
            fake_raw(raw_path(root, cam, run), f"Crab,W{run},83.63,{22.01 + 0.4 * run:.2f}")
    fake_raw(raw_path(root, 1, 3), "DARK")
    fake_raw(raw_path(root, 2, 4), "Transition_UNDEF_0_0")
    fake_raw(raw_path(root, 1, 5))  # no TARGET card: the DAQ of 2018
    corrupt = raw_path(root, 2, 6)
    corrupt.write_bytes(b"\x00garbage" * 100)
    fake_raw(raw_path(root, 1, 7, date="20240306"), "Crab")  # another night
    return root


def planner(tmp_path, **traits):
    models = tmp_path / "models"
    irfs = tmp_path / "irfs"
    models.mkdir(exist_ok=True)
    irfs.mkdir(exist_ok=True)
    values = {"mono_models": str(models), "stereo_models": str(models), "irf_bank": str(irfs)}
    values.update(traits)
    return NightPlanner(config=Config({"NightPlanner": values}))


def test_header_cards_agree_with_astropy(digicam_2018_file, tmp_path):
    fast = events_header_cards(digicam_2018_file)
    slow = digicam_events_header(digicam_2018_file)
    assert fast["PBFHEAD"] == "DataModel.CameraEvent" and fast["DATE"] == "2018-08-23T00:00:02"
    assert {k: fast[k] for k in fast} == {k: slow[k] for k in fast}
    with_target = fake_raw(tmp_path / "t.fits.fz", "Mrk421_W2_166.11_38.61")
    assert events_header_cards(with_target, keys={"TARGET"})["TARGET"] == "Mrk421_W2_166.11_38.61"
    (tmp_path / "text.fits.fz").write_text("SIMPLE but not FITS")
    assert events_header_cards(tmp_path / "text.fits.fz") is None
    name = parse_run_name("SST1M2_20240305_0012.fits.fz")
    assert (name.tel_id, name.camera, name.date, name.run) == (22, 2, "20240305", 12)
    assert parse_run_name("SST1M3_20240305_0012.fits.fz") is None


def test_raw_night_graph(tmp_path, raw_night):
    plan = planner(tmp_path, default_target="Mrk 421").plan(DATE, tmp_path / "ana", raw_night)
    night = tmp_path / "ana" / "20240305"
    assert plan.night_dir == night and plan.manifest_path == night / "manifest.json"
    assert plan.targets() == {"Crab": {1: 2, 2: 2}, "Mrk 421": {1: 1}, "unreadable": {2: 1}}
    skipped = {p.name: why for p, why in plan.skipped}
    assert skipped == {
        "SST1M1_20240305_0003.fits.fz": "target DARK is not a sky observation",
        "SST1M2_20240305_0004.fits.fz": "target Transition is not a sky observation",
    }
    tasks = {t.key: t for t in check_graph(plan.tasks)}
    assert sorted(k for k in tasks if k.startswith(("r0_dl1", "stereo"))) == [
        "r0_dl1/SST1M1_20240305_0001",
        "r0_dl1/SST1M1_20240305_0002",
        "r0_dl1/SST1M1_20240305_0005",
        "r0_dl1/SST1M2_20240305_0001",
        "r0_dl1/SST1M2_20240305_0002",
        "r0_dl1/SST1M2_20240305_0006",
        "stereo/SST1M_20240305_0001",
        "stereo/SST1M_20240305_0002",
    ]
    r0 = tasks["r0_dl1/SST1M1_20240305_0001"]
    dl1 = night / "Crab/cs1/DL1/SST1M1_20240305_0001.dl1.h5"
    assert r0.outputs == (dl1,) and r0.log == dl1.with_suffix(".log")
    assert r0.command[:5] == ("sst1m-r0-dl1", "-i", str(raw_path(raw_night, 1, 1)), "-o", str(dl1))
    assert r0.command[-4:] == (
        "-c",
        str(night / "config/r0_dl1.yaml"),
        "--provenance-log",
        str(dl1.with_suffix(".provenance.log")),
    )
    # no TARGET: the default target and its catalogue position as the pointing
    mrk = tasks["r0_dl1/SST1M1_20240305_0005"]
    assert "--SST1MEventSource.pointing_ra=166.1138" in mrk.command
    assert mrk.outputs[0].parent == night / "Mrk421/cs1/DL1"
    # an unreadable file is processed, so that its failure is reported, and nothing follows it
    bad = tasks["r0_dl1/SST1M2_20240305_0006"]
    assert bad.outputs[0].parent == night / "unreadable/cs2/DL1"
    assert not [t for t in tasks.values() if bad.key in t.upstream]

    stereo = tasks["stereo/SST1M_20240305_0001"]
    assert stereo.depends_on == ("r0_dl1/SST1M1_20240305_0001", "r0_dl1/SST1M2_20240305_0001")
    assert stereo.outputs[0] == night / "Crab/stereo/DL1/SST1M_20240305_0001.stereo.dl1.h5"
    dl2 = {k: t for k, t in tasks.items() if t.stage == "dl2"}
    assert len(dl2) == 7  # 5 telescope files + 2 stereo files
    mono = dl2["dl2/Crab/cs2/SST1M2_20240305_0002"]
    assert ("--mode", "mono") == mono.command[mono.command.index("--mode") :][:2]
    assert mono.depends_on == ("r0_dl1/SST1M2_20240305_0002",)
    assert dl2["dl2/Crab/stereo/SST1M_20240305_0002"].depends_on == ("stereo/SST1M_20240305_0002",)

    dl3 = {k: t for k, t in tasks.items() if t.stage == "dl3"}
    assert sorted(dl3) == [
        "dl3/Crab/cs1",
        "dl3/Crab/cs2",
        "dl3/Crab/stereo",
        "dl3/Mrk421/cs1",
    ]
    crab = dl3["dl3/Crab/cs1"]
    assert crab.depends_on == () and sorted(crab.after) == [
        "dl2/Crab/cs1/SST1M1_20240305_0001",
        "dl2/Crab/cs1/SST1M1_20240305_0002",
    ]
    assert crab.output_dirs == (night / "Crab/cs1/DL3",)
    assert crab.command[crab.command.index("--target") + 1] == "Crab"
    assert crab.command[crab.command.index("--tel-setup") + 1] == "tel_021"
    index = tasks["index/cs1"]
    assert sorted(index.depends_on) == ["dl3/Crab/cs1", "dl3/Mrk421/cs1"]
    assert index.outputs[0] == night / "index/cs1/hdu-index.fits.gz"
    dq = tasks["quality/dq_table"]
    assert len(dq.after) == 7 and dq.outputs == (night / "quality/dq_table.ecsv",)
    assert "quality/dq_table" in tasks["quality/night_summary"].after
    assert {t.config.name for t in tasks.values()} == {
        f"{s}.yaml" for s in ("r0_dl1", "stereo", "dl2", "dl3", "index", "quality", "summary")
    }


def test_without_default_target_the_file_is_skipped_and_stages_select(tmp_path, raw_night):
    plan = planner(tmp_path).plan(DATE, tmp_path / "ana", raw_night, stages=("r0_dl1", "stereo"))
    skipped = {p.name: why for p, why in plan.skipped}
    assert skipped["SST1M1_20240305_0005.fits.fz"].startswith("no target (header or pointing)")
    assert {t.stage for t in plan.tasks} == {"r0_dl1", "stereo"}
    assert len(plan.tasks) == 7
    only_tel22 = planner(tmp_path).plan(DATE, tmp_path / "ana", raw_night, telescopes=(22,))
    assert {t.key for t in only_tel22.tasks if t.stage == "stereo"} == set()
    assert all("SST1M1" not in t.key for t in only_tel22.tasks)


def test_stage_configs_are_written_once_with_their_content(tmp_path, raw_night):
    extra = tmp_path / "stereo.yaml"
    extra.write_text("DL1StereoTool:\n  keep_mono: true\n")
    configs = {"r0_dl1": {"DigiCamR0Corrections": {"use_nominal_calibration": True}}}
    configs["stereo"] = str(extra)
    plan = planner(tmp_path, stage_configs=configs).plan(DATE, tmp_path / "ana", raw_night)
    plan.write_configs()
    r0 = plan.night_dir / "config" / "r0_dl1.yaml"
    assert "use_nominal_calibration: true" in r0.read_text()
    assert "keep_mono: true" in (plan.night_dir / "config" / "stereo.yaml").read_text()
    mtime = r0.stat().st_mtime_ns
    plan.write_configs()
    assert r0.stat().st_mtime_ns == mtime


def test_planning_errors(tmp_path, raw_night):
    with pytest.raises(SST1MInputError, match="needs NightPlanner.mono_models"):
        planner(tmp_path, mono_models=None).plan(DATE, tmp_path / "a", raw_night)
    with pytest.raises(SST1MInputError, match="irf_bank: .*absent does not exist"):
        planner(tmp_path, irf_bank=str(tmp_path / "absent")).plan(DATE, tmp_path / "a", raw_night)
    with pytest.raises(SST1MInputError, match="unknown stage dl4"):
        planner(tmp_path, stage_configs={"dl4": {}}).plan(DATE, tmp_path / "a", raw_night)
    with pytest.raises(SST1MInputError, match="give the night as YYYY-MM-DD"):
        planner(tmp_path).plan("20240305", tmp_path / "a", raw_night)
    # without the DL2 and DL3 stages, no models or IRFs are needed
    plan = planner(tmp_path, mono_models=None, irf_bank=None).plan(
        DATE, tmp_path / "a", raw_night, stages=("r0_dl1",)
    )
    assert len(plan.tasks) == 5  # the file without a target is skipped


def fake_dl1(path, ra, dec):
    with tables.open_file(path, "w") as h5:
        row = np.array(
            [(1, ra, dec)],
            dtype=[
                ("obs_id", "i8"),
                ("subarray_pointing_lon", "f8"),
                ("subarray_pointing_lat", "f8"),
            ],
        )
        group, name = OBSERVATION_BLOCK_TABLE.rsplit("/", 1)
        h5.create_table(group, name, obj=row, createparents=True)
    return path


def test_dl1_entry_takes_the_target_from_the_pointing(tmp_path):
    dl1 = tmp_path / "dl1"
    dl1.mkdir()
    fake_dl1(dl1 / "SST1M1_20240305_0001.dl1.h5", 166.11, 38.61)  # Mrk 421 wobble, 0.4 deg off
    fake_dl1(dl1 / "SST1M2_20240305_0001.dl1.h5", 166.11, 37.81)
    fake_dl1(dl1 / "SST1M2_20240305_0002.dl1.h5", 10.0, -5.0)  # nothing catalogued there
    plan = planner(tmp_path).plan(DATE, tmp_path / "ana", dl1_dir=dl1)
    assert plan.targets() == {"Mrk 421": {1: 1, 2: 1}}
    assert [p.name for p, _ in plan.skipped] == ["SST1M2_20240305_0002.dl1.h5"]
    keys = sorted(t.key for t in plan.tasks)
    assert "stereo/SST1M_20240305_0001" in keys and not [k for k in keys if "r0_dl1" in k]
    stereo = next(t for t in plan.tasks if t.stage == "stereo")
    assert stereo.inputs == (
        dl1 / "SST1M1_20240305_0001.dl1.h5",
        dl1 / "SST1M2_20240305_0001.dl1.h5",
    )
    assert stereo.depends_on == ()
    shutil.rmtree(dl1)

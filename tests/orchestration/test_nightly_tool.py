"""``sst1m-nightly`` wiring: dry run, --status, one-line refusals (no command is run here)."""

import pytest
from ctapipe.core import run_tool
from workflow_tasks import fake_raw, raw_path

from ctapipe_sst1m.orchestration import Manifest, Task
from ctapipe_sst1m.orchestration.manifest import new_entry
from ctapipe_sst1m.tools.nightly import NightlyTool


@pytest.fixture
def night(tmp_path):
    raw = tmp_path / "raw"
    for cam in (1, 2):
        fake_raw(raw_path(raw, cam, 1), "Crab,W1,83.63,22.41")
    config = tmp_path / "night.yaml"
    (tmp_path / "models").mkdir()
    (tmp_path / "irfs").mkdir()
    config.write_text(
        f"NightPlanner:\n  mono_models: {tmp_path / 'models'}\n"
        f"  stereo_models: {tmp_path / 'models'}\n  irf_bank: {tmp_path / 'irfs'}\n"
    )
    (tmp_path / "ana").mkdir()
    return tmp_path, raw, config


def nightly(tmp_path, *argv):
    args = [*map(str, argv), f"--provenance-log={tmp_path / 'nightly.provenance.log'}"]
    return run_tool(NightlyTool(), args, cwd=tmp_path, raises=False)


def test_dry_run_lists_the_plan_and_writes_nothing(night, capsys):
    tmp_path, raw, config = night
    code = nightly(
        tmp_path,
        "--date=2024-03-05",
        f"--raw-dir={raw}",
        f"-o={tmp_path / 'ana'}",
        "-c",
        config,
        "--dry-run",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "[would-run] r0_dl1/SST1M1_20240305_0001 (never ran)" in out
    assert "[would-run] stereo/SST1M_20240305_0001 (r0_dl1/SST1M1_20240305_0001 runs)" in out
    assert "index 3 tasks: 3 would-run" in [" ".join(line.split()) for line in out.splitlines()]
    assert f"    > {tmp_path}/ana/20240305/Crab/cs2/DL1/SST1M2_20240305_0001.dl1.h5" in out
    assert list((tmp_path / "ana").iterdir()) == []


def test_status_prints_the_manifest(tmp_path, capsys):
    night_dir = tmp_path / "ana" / "20240305"
    manifest = Manifest(night_dir / "manifest.json")
    for key, status in (("r0_dl1/a", "done"), ("r0_dl1/b", "failed"), ("dl2/a", "blocked")):
        task = Task(
            key=key,
            stage=key.split("/")[0],
            command=("x",),
            inputs=(),
            outputs=(),
            log=night_dir / f"{key}.log",
        )
        manifest.record(new_entry(task, status, exit_code=0 if status == "done" else None))
    manifest.write()
    assert nightly(tmp_path, f"--status={night_dir}") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "status", "exit", "seconds", "task", "log"]
    assert lines[1].split() == ["dl2", "blocked", "dl2/a", "dl2/a.log"]
    assert lines[2].split() == ["r0_dl1", "done", "0", "r0_dl1/a"]
    assert lines[3].split() == ["r0_dl1", "failed", "r0_dl1/b", "r0_dl1/b.log"]
    assert "r0_dl1 2 tasks: 1 done, 1 failed" in [" ".join(line.split()) for line in lines]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stages=r0_dl1,dl4"], "--stages: unknown stage dl4"),
        (["--date=05/03/2024"], "give the night as YYYY-MM-DD"),
        (["--date=2024-03-06"], "no file of the night 2024-03-06 found"),
        (["--telescopes=23"], "unknown telescope 23"),
        (["-o=/nonexistent/ana"], "output directory /nonexistent/ana does not exist"),
    ],
)
def test_refusals_in_one_line(night, capsys, argv, message):
    tmp_path, raw, config = night
    options = {"--date": "2024-03-05", "--raw-dir": raw, "-o": tmp_path / "ana", "-c": config}
    options.update(a.split("=", 1) for a in argv)
    assert nightly(tmp_path, *[f"{k}={v}" for k, v in options.items()], "--dry-run") == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if " ERROR " in line]
    assert message in errors[0] and "Traceback" not in errors[0]


def test_status_of_a_directory_without_manifest(tmp_path, capsys):
    assert nightly(tmp_path, f"--status={tmp_path}") == 2
    assert (
        f"--status: {tmp_path}/manifest.json: no workflow manifest here" in capsys.readouterr().err
    )

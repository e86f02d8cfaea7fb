"""SIGTERM to a running workflow's process group, then a re-run (the engine with tiny tasks)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workflow_tasks import DRIVER

from ctapipe_sst1m.orchestration import Manifest

HELPERS = Path(__file__).parents[1] / "helpers"


def _env():
    path = [str(HELPERS), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _done(manifest_path):
    if (
        not manifest_path.exists()
        and not manifest_path.with_name(manifest_path.name + ".journal.jsonl").exists()
    ):
        return {}
    tasks = Manifest(manifest_path).tasks
    return {k: e for k, e in tasks.items() if e["status"] == "done"}


def test_killed_workflow_resumes_without_redoing_finished_tasks(tmp_path, writer_script):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "run"
    out.mkdir()
    command = [sys.executable, str(driver), str(writer_script), str(out), "6", "1.5"]
    proc = subprocess.Popen(
        command, env=_env(), start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    manifest = out / "manifest.json"
    deadline = time.monotonic() + 180
    while len(_done(manifest)) < 2:
        assert proc.poll() is None, "the workflow ended before it could be interrupted"
        assert time.monotonic() < deadline, "no task finished in time"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout
    assert not list(out.rglob("*.part")), "a half-written product was left"
    done = _done(manifest)
    statuses = {e["status"] for e in Manifest(manifest).tasks.values()}
    assert statuses <= {"done", "interrupted"} and 2 <= len(done) < 7
    assert "join/all" not in done
    finished = {k: (Path(e["outputs"][0]["path"]), e["finished"]) for k, e in done.items()}
    mtimes = {k: p.stat().st_mtime_ns for k, (p, _) in finished.items()}
    # every product on disk is complete and recorded, or absent (atomic outputs)
    for path in out.glob("p*.txt"):
        assert path.read_text() == f"{path.name}\n"

    rerun = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "up-to-date" in rerun.stdout
    entries = Manifest(manifest).tasks
    assert {e["status"] for e in entries.values()} == {"done"} and len(entries) == 7
    for key, (path, when) in finished.items():
        assert path.stat().st_mtime_ns == mtimes[key], f"{key} was redone"
        assert entries[key]["finished"] == when
    # the final product equals that of an uninterrupted run
    assert (out / "all.txt").read_text() == "".join(f"p{i}.txt\n" for i in range(6)) + "all.txt\n"


def test_sigterm_to_the_orchestrator_alone_ends_the_running_commands(tmp_path, writer_script):
    import psutil

    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "run"
    out.mkdir()
    command = [sys.executable, str(driver), str(writer_script), str(out), "2", "60"]
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, text=True)

    def running():
        found = []
        for p in psutil.process_iter(["cmdline"]):
            cmdline = p.info["cmdline"] or []
            if str(writer_script) in cmdline and "sleep60" in cmdline:
                found.append(p)
        return found

    deadline = time.monotonic() + 180
    while len(running()) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the commands never started"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    psutil.wait_procs(running(), timeout=30)
    assert running() == [], "a command outlived the workflow"
    entries = Manifest(out / "manifest.json").tasks
    assert {e["status"] for e in entries.values()} == {"interrupted"}
    assert not list(out.rglob("*.part")) and not list(out.glob("p*.txt"))

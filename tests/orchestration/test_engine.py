"""The Dask engine on tiny commands: dependencies, failures, resume, staleness, manifest."""

import json
import sys

import pytest
from workflow_tasks import make_task

from ctapipe_sst1m.orchestration import (
    Manifest,
    Task,
    TaskGraphError,
    check_graph,
    config_copy_path,
    run_workflow,
)


def diamond(writer, tmp, fail=None, config=None):
    """a, b -> c (reads both), d independent."""
    a = make_task(writer, tmp / "a.txt", "fail" if fail == "a" else "ok", config=config)
    b = make_task(writer, tmp / "b.txt")
    c = make_task(
        writer,
        tmp / "c.txt",
        inputs=(tmp / "a.txt", tmp / "b.txt"),
        depends_on=(a.key, b.key),
        stage="join",
    )
    d = make_task(writer, tmp / "d.txt", stage="join")
    return [c, a, b, d]  # not in dependency order on purpose


def mtimes(tmp):
    return {p.name: p.stat().st_mtime_ns for p in sorted(tmp.glob("*.txt"))}


def test_graph_runs_in_dependency_order_and_is_recorded(tmp_path, writer_script, client_factory):
    tasks = diamond(writer_script, tmp_path)
    manifest = tmp_path / "manifest.json"
    summary = run_workflow(tasks, manifest, client_factory=client_factory)
    assert summary.exit_code == 0
    assert set(summary.statuses.values()) == {"done"}
    assert (tmp_path / "c.txt").read_text() == "a.txt\nb.txt\nc.txt\n"
    content = json.loads(manifest.read_text())
    entries = {e["key"]: e for e in content["tasks"]}
    assert set(entries) == {t.key for t in tasks}
    for task in tasks:
        entry = entries[task.key]
        assert entry["status"] == "done" and entry["exit_code"] == 0
        assert entry["duration_s"] > 0 and entry["software_version"]
        assert entry["outputs"][0]["size"] == task.outputs[0].stat().st_size
        assert task.log.read_text().splitlines()[-1] == f"wrote {task.outputs[0]}"
    assert [e["path"] for e in entries["join/c"]["inputs"]] == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.txt"),
    ]
    assert summary.counts() == {"join": {"done": 2}, "step": {"done": 2}}
    # journal emptied after the final rewrite
    assert not manifest.with_name("manifest.json.journal.jsonl").exists()


def test_rerun_does_nothing_and_stale_input_reruns_downstream(
    tmp_path, writer_script, client_factory
):
    tasks = diamond(writer_script, tmp_path)
    manifest = tmp_path / "manifest.json"
    run_workflow(tasks, manifest, client_factory=client_factory)
    before = mtimes(tmp_path)

    def no_client():
        raise AssertionError("nothing to run: no cluster needed")

    again = run_workflow(tasks, manifest, client_factory=no_client)
    assert set(again.statuses.values()) == {"up-to-date"}
    assert mtimes(tmp_path) == before

    # a product changed behind the engine's back: it and what depends on it are redone
    (tmp_path / "b.txt").write_text("edited\n")
    third = run_workflow(tasks, manifest, client_factory=client_factory)
    assert third.statuses == {
        "step/a": "up-to-date",
        "step/b": "done",
        "join/c": "done",
        "join/d": "up-to-date",
    }
    after = mtimes(tmp_path)
    assert after["a.txt"] == before["a.txt"] and after["d.txt"] == before["d.txt"]
    assert (tmp_path / "c.txt").read_text() == "a.txt\nb.txt\nc.txt\n"


def test_failure_blocks_dependents_only_and_is_kept_until_retry(
    tmp_path, writer_script, client_factory
):
    tasks = diamond(writer_script, tmp_path, fail="a")
    manifest = tmp_path / "manifest.json"
    summary = run_workflow(tasks, manifest, client_factory=client_factory)
    assert summary.exit_code == 1
    assert summary.statuses == {
        "step/a": "failed",
        "step/b": "done",
        "join/c": "blocked",
        "join/d": "done",
    }
    entry = summary.entries["step/a"]
    assert entry["exit_code"] == 3 and entry["message"] == "exit status 3"
    assert "failing on purpose" in (tmp_path / "a.log").read_text()
    text = summary.format()
    assert f"failed      step/a: {tmp_path / 'a.log'}" in text
    assert "blocked (not run because a task they depend on failed): 1" in text
    assert not (tmp_path / "c.txt").exists()

    log_mtime = (tmp_path / "a.log").stat().st_mtime_ns
    kept = run_workflow(tasks, manifest, client_factory=client_factory)
    assert kept.statuses["step/a"] == "failed" and kept.statuses["join/c"] == "blocked"
    assert (tmp_path / "a.log").stat().st_mtime_ns == log_mtime  # not run again

    retried = run_workflow(tasks, manifest, client_factory=client_factory, retry_failed=True)
    assert retried.statuses["step/a"] == "failed"
    assert (tmp_path / "a.log").stat().st_mtime_ns > log_mtime

    fixed = diamond(writer_script, tmp_path)  # the command changed: runs without retry
    done = run_workflow(fixed, manifest, client_factory=client_factory)
    assert done.exit_code == 0 and done.statuses["join/c"] == "done"


def test_config_copied_hashed_and_a_change_reruns(tmp_path, writer_script, client_factory):
    config = tmp_path / "stage.yaml"
    config.write_text("A: {x: 1}\n")
    tasks = diamond(writer_script, tmp_path, config=config)
    manifest = tmp_path / "manifest.json"
    run_workflow(tasks, manifest, client_factory=client_factory)
    a = next(t for t in tasks if t.key == "step/a")
    copy = config_copy_path(a)
    assert copy == tmp_path / "a.config.yaml" and copy.read_text() == "A: {x: 1}\n"
    recorded = Manifest(manifest).tasks["step/a"]
    assert recorded["config"] == str(copy) and len(recorded["config_sha256"]) == 64
    config.write_text("A: {x: 2}\n")
    summary = run_workflow(tasks, manifest, client_factory=client_factory)
    assert summary.statuses["step/a"] == "done" and summary.statuses["step/b"] == "up-to-date"
    assert summary.statuses["join/c"] == "done"
    assert copy.read_text() == "A: {x: 2}\n"


def test_dry_run_and_overwrite(tmp_path, writer_script, client_factory):
    tasks = diamond(writer_script, tmp_path)
    manifest = tmp_path / "manifest.json"
    plan = run_workflow(tasks, manifest, client_factory=None, dry_run=True)
    assert set(plan.statuses.values()) == {"would-run"} and plan.exit_code == 0
    assert not list(tmp_path.glob("*.txt")) and not manifest.exists()
    assert "[would-run] join/c (never ran)" in plan.format() or plan.reasons["join/c"]
    run_workflow(tasks, manifest, client_factory=client_factory)
    before = mtimes(tmp_path)
    redo = run_workflow(tasks, manifest, client_factory=client_factory, overwrite=True)
    assert set(redo.statuses.values()) == {"done"}
    assert all(mtimes(tmp_path)[k] > v for k, v in before.items())


def test_stale_output_without_record_is_redone_with_the_overwrite_argument(
    tmp_path, writer_script, client_factory
):
    out = tmp_path / "x.txt"
    out.write_text("left by an interrupted run\n")
    task = make_task(writer_script, out)
    task = Task(**{**task.__dict__, "overwrite_argument": "--overwrite"})
    summary = run_workflow([task], tmp_path / "m.json", client_factory=client_factory)
    assert summary.statuses[task.key] == "done"
    assert out.read_text() == "x.txt\n"
    assert task.log.read_text().splitlines()[0].endswith(f"{out} ok --overwrite")


def test_missing_input_and_lost_output_are_failures(tmp_path, writer_script, client_factory):
    task = make_task(writer_script, tmp_path / "y.txt", inputs=(tmp_path / "absent.h5",))
    summary = run_workflow([task], tmp_path / "m.json", client_factory=client_factory)
    assert summary.statuses[task.key] == "failed"
    assert summary.entries[task.key]["message"] == f"input missing: {tmp_path / 'absent.h5'}"
    # exit status 0 without the promised product is a failure too
    liar = Task(
        key="liar",
        stage="s",
        command=("true",),
        inputs=(),
        outputs=(tmp_path / "never.txt",),
        log=tmp_path / "liar.log",
    )
    summary = run_workflow([liar], tmp_path / "m2.json", client_factory=client_factory)
    assert summary.statuses["liar"] == "failed"
    assert "exit status 0 but no output" in summary.entries["liar"]["message"]


def test_manifest_journal_replays_after_a_crash(tmp_path):
    manifest = Manifest(tmp_path / "manifest.json", rewrite_interval=1e9)
    manifest.write()
    for i in range(3):
        manifest.record({"key": f"t{i}", "stage": "s", "status": "done"})
    with open(manifest.journal_path, "a") as f:
        f.write('{"key": "t9", "sta')  # the line being written when the machine died
    reread = Manifest(tmp_path / "manifest.json")
    assert sorted(reread.tasks) == ["t0", "t1", "t2"]
    assert reread.status_counts() == {"s": {"done": 3}}


@pytest.mark.parametrize(
    "edges, message",
    [
        ({"a": ["b"], "b": ["a"]}, "depend on each other"),
        ({"a": ["zz"]}, "unknown task 'zz'"),
    ],
)
def test_graph_errors(tmp_path, edges, message):
    tasks = [
        Task(
            key=k,
            stage="s",
            command=("true",),
            inputs=(),
            outputs=(),
            log=tmp_path / k,
            depends_on=v,
        )
        for k, v in edges.items()
    ]
    with pytest.raises(TaskGraphError, match=message):
        check_graph(tasks)
    same = Task(key="a", stage="s", command=("true",), inputs=(), outputs=(), log=tmp_path / "l")
    with pytest.raises(TaskGraphError, match="used twice"):
        check_graph([same, same])
    out = (tmp_path / "o",)
    one = Task(key="x", stage="s", command=("true",), inputs=(), outputs=out, log=tmp_path / "l")
    two = Task(key="y", stage="s", command=("true",), inputs=(), outputs=out, log=tmp_path / "l")
    with pytest.raises(TaskGraphError, match="written by both"):
        check_graph([one, two])


def test_after_runs_on_what_exists_and_product_directories_are_listed(
    tmp_path, writer_script, client_factory
):
    good = make_task(writer_script, tmp_path / "good.txt")
    bad = make_task(writer_script, tmp_path / "bad.txt", "fail")
    outdir = tmp_path / "merged"
    merge = Task(
        key="merge",
        stage="merge",
        command=(sys.executable, str(writer_script), str(outdir / "m.txt"), "ok")
        + tuple(str(t.outputs[0]) for t in (good, bad)),
        inputs=(),
        optional_inputs=(good.outputs[0], bad.outputs[0]),
        outputs=(),
        output_dirs=(outdir,),
        log=tmp_path / "merge.log",
        after=(good.key, bad.key),
        overwrite_argument=None,
    )
    summary = run_workflow([good, bad, merge], tmp_path / "m.json", client_factory=client_factory)
    assert summary.statuses == {"step/good": "done", "step/bad": "failed", "merge": "done"}
    assert (outdir / "m.txt").read_text() == "good.txt\nm.txt\n"
    entry = summary.entries["merge"]
    assert entry["missing_inputs"] == [str(tmp_path / "bad.txt")]
    assert str(tmp_path / "bad.txt") not in (tmp_path / "merge.log").read_text().splitlines()[0]
    assert entry["outputs"][0]["files"] == ["m.txt"]
    # the failed input appears (a retry succeeds): the merge is stale and runs again
    fixed = make_task(writer_script, tmp_path / "bad.txt")
    again = run_workflow([good, fixed, merge], tmp_path / "m.json", client_factory=client_factory)
    assert again.statuses == {"step/good": "up-to-date", "step/bad": "done", "merge": "done"}
    assert (outdir / "m.txt").read_text() == "good.txt\nbad.txt\nm.txt\n"

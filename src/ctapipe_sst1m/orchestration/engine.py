"""Run a graph of :class:`~.tasks.Task` on Dask distributed, resumably, with a manifest.

API (stable; shared by ``sst1m-nightly`` and ``sst1m-mc-production``)::

    from ctapipe_sst1m.orchestration import Task, run_workflow, ClusterFactory

    tasks = [Task(key="r0_dl1/SST1M1_20240305_0001", stage="r0_dl1",
                  command=("sst1m-r0-dl1", "-i", raw, "-o", dl1), inputs=(raw,),
                  outputs=(dl1,), log=dl1.with_suffix(".log")), ...]
    summary = run_workflow(tasks, ana / "manifest.json",
                           client_factory=ClusterFactory(n_workers=2),
                           retry_failed=False, dry_run=False, overwrite=False)
    print(summary.format()); sys.exit(summary.exit_code)

``client_factory`` is any callable returning a context manager that yields a
``distributed.Client`` (:class:`~.cluster.ClusterFactory`; in tests
``lambda: contextlib.nullcontext(client)`` re-uses one cluster).

What happens:

1. The graph is checked (:func:`~.tasks.check_graph`). Every task is compared with its
   manifest entry (:meth:`~.manifest.Manifest.up_to_date`): a task runs if it never succeeded,
   if its command, configuration, software version or inputs changed, if an output is missing
   or was modified, if a task it depends on runs, or with ``overwrite``. A recorded failure
   runs again only with ``retry_failed`` (otherwise it stays failed, and so do its dependents).
2. Each task to run is submitted with the futures of the tasks it depends on; a worker
   runs :func:`execute`: the command as a subprocess, its standard output and error in
   ``task.log``, the configuration copied beside it, and returns the manifest entry. A
   non-zero exit status, a missing output or an exception is a failure; tasks depending on it
   are ``blocked`` (never run), independent tasks go on.
3. Each finished task is recorded in the manifest at once (journal line, see
   :mod:`.manifest`).
4. SIGTERM/SIGINT (``KeyboardInterrupt``) in the orchestrator: futures are cancelled, the
   running tasks are recorded ``interrupted``, the manifest is written, the cluster is closed
   (worker processes end, and the commands they started receive SIGTERM and remove their
   temporary outputs), and the exception propagates (exit status 130 in a Tool). The products
   are written atomically by the commands, so none is half-written; a re-run redoes only what
   is not recorded as done.
"""

import ctypes
import functools
import shutil
import signal
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..core.signals import deferred_interruption
from .manifest import Manifest, file_sha256, new_entry, path_state, utc_now
from .tasks import check_graph, config_copy_path

__all__ = ["WorkflowSummary", "execute", "plan_status", "run_workflow"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent():  # pragma: no cover - runs in the child between fork and exec
    """Linux: the command receives SIGTERM if the worker running it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@functools.cache
def _launcher():
    """``(argv prefix, preexec_fn)`` that give the command SIGTERM when its worker dies.

    Linux only. ``setpriv --pdeathsig TERM`` (util-linux) costs a few ms; a Python
    ``preexec_fn`` forces a full fork of the worker process (~25 ms), the fallback.
    """
    if sys.platform != "linux":
        return (), None
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        return (setpriv, "--pdeathsig", "TERM"), None
    return (), _die_with_parent


def _resolve(executable):
    """The command's executable: from PATH, else beside this Python (a venv's console scripts)."""
    if "/" in executable:
        return executable
    found = shutil.which(executable)
    if found is None:
        beside = Path(sys.executable).parent / executable
        if beside.exists():
            return str(beside)
    return found or executable


def execute(task, config_sha256, *upstream):
    """Run one task (in a Dask worker); return its manifest entry. Never raises.

    ``upstream`` are the entries returned for the tasks it depends on: if one is not
    ``done``, the task is ``blocked`` and its command does not run.
    """
    not_done = [
        e["key"] for e in upstream if e["key"] in task.depends_on and e.get("status") != "done"
    ]
    if not_done:
        return new_entry(task, "blocked", message=f"not run: {', '.join(not_done)} did not succeed")
    started, t0 = utc_now(), time.perf_counter()
    entry = new_entry(task, "failed", started=started, config_sha256=config_sha256)
    try:
        missing = [str(p) for p in task.inputs if not p.exists()]
        if missing:
            entry["message"] = f"input missing: {', '.join(missing)}"
            return _finish(entry, t0)
        task.log.parent.mkdir(parents=True, exist_ok=True)
        for out in task.outputs:
            out.parent.mkdir(parents=True, exist_ok=True)
        for out in task.output_dirs:
            out.mkdir(parents=True, exist_ok=True)
        copy = config_copy_path(task)
        if copy is not None:
            if copy != task.config:
                shutil.copyfile(task.config, copy)
            entry["config"] = str(copy)
        entry["inputs"] = [path_state(p) for p in (*task.inputs, *task.optional_inputs)]
        absent = {str(p) for p in task.optional_inputs if not p.exists()}
        if absent:
            entry["missing_inputs"] = sorted(absent)
        prefix, preexec = _launcher()
        kept = (
            a for a in task.command[1:] if a not in absent and a.partition("=")[2] not in absent
        )
        command = [_resolve(task.command[0]), *kept]
        stale = any(p.exists() for p in task.outputs) or any(
            any(d.iterdir()) for d in task.output_dirs
        )
        if task.overwrite_argument and stale:
            command.append(task.overwrite_argument)
        with open(task.log, "w") as log:
            log.write(f"# {started} {entry['host']}: {' '.join(command)}\n")
            log.flush()
            proc = subprocess.Popen(
                [*prefix, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=preexec,
            )
            try:
                entry["exit_code"] = proc.wait()
            except BaseException:
                proc.terminate()
                proc.wait()
                raise
        entry["outputs"] = [path_state(p) for p in task.outputs]
        entry["outputs"] += [path_state(p, list_files=True) for p in task.output_dirs]
        absent = [str(p) for p in task.products if not p.exists()]
        if entry["exit_code"] != 0:
            entry["message"] = f"exit status {entry['exit_code']}" + _error_line(task.log)
        elif absent:
            entry["message"] = f"exit status 0 but no output {', '.join(absent)}; see {task.log}"
        else:
            entry["status"] = "done"
    except Exception as err:  # noqa: BLE001 - a failure must be recorded, never lost
        entry["message"] = f"{type(err).__name__}: {err}"
        entry["traceback"] = traceback.format_exc()
    return _finish(entry, t0)


def _error_line(log):
    """``": <the last error the command logged>"`` (ctapipe's one-line error), or ``""``."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 8192))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if (" ERROR " in line or " CRITICAL " in line) and "Use --help" not in line:
            return ": " + line.split("): ", 1)[-1].strip()[:300]
    return ""


def _finish(entry, t0):
    entry["finished"] = utc_now()
    entry["duration_s"] = round(time.perf_counter() - t0, 3)
    return entry


@dataclass
class WorkflowSummary:
    """Outcome of :func:`run_workflow`: one status per task of the graph.

    ``statuses[key]`` is ``done`` (ran now), ``up-to-date`` (done earlier, still valid),
    ``failed``, ``blocked``, ``interrupted``, or with ``dry_run`` ``would-run``;
    ``reasons[key]`` says why a task runs or failed; ``entries`` are the manifest entries.
    """

    tasks: list
    statuses: dict
    reasons: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    manifest_path: Path | None = None
    wall_time_s: float = 0.0

    @property
    def failed(self):
        """Keys of the tasks that failed, were blocked or interrupted."""
        bad = ("failed", "blocked", "interrupted")
        return [t.key for t in self.tasks if self.statuses[t.key] in bad]

    @property
    def exit_code(self):
        """0 if every task is done or up to date (or would run), 1 otherwise."""
        return 1 if self.failed else 0

    def counts(self):
        """``{stage: {status: n}}`` in stage order of first appearance."""
        counts = {}
        for task in self.tasks:
            stage = counts.setdefault(task.stage, {})
            status = self.statuses[task.key]
            stage[status] = stage.get(status, 0) + 1
        return counts

    def format(self, **kwargs):
        """The one-screen summary (see :func:`.summary.format_summary`)."""
        from .summary import format_summary

        return format_summary(self, **kwargs)


def plan_status(tasks, manifest, *, retry_failed=False, overwrite=False, config_hashes=None):
    """Which tasks must run: ``(to_run: dict key -> reason, kept: dict key -> entry)``.

    ``tasks`` must be in dependency order. A task runs if it is not up to date, or if a task
    it depends on (or runs after) runs. A recorded failure with unchanged command and
    configuration is re-run only with ``retry_failed``; otherwise it is kept (in ``kept``),
    and so are, as ``blocked``, the tasks that depend on a kept failure.
    """
    config_hashes = config_hashes if config_hashes is not None else _config_hashes(tasks)
    to_run, kept = {}, {}
    for task in tasks:
        if overwrite:
            to_run[task.key] = "--overwrite"
            continue
        failed_deps = [d for d in task.depends_on if d in kept]
        if failed_deps:
            kept[task.key] = new_entry(
                task, "blocked", message=f"not run: {failed_deps[0]} failed earlier"
            )
            continue
        rerun = [d for d in task.upstream if d in to_run]
        done, why = manifest.up_to_date(task, config_hashes[task.key])
        if done and not rerun:
            continue
        entry = manifest.tasks.get(task.key)
        if (
            not retry_failed
            and not rerun
            and entry is not None
            and entry.get("status") == "failed"
            and entry.get("command") == list(task.command)
            and entry.get("config_sha256") in (None, config_hashes[task.key])
        ):
            kept[task.key] = entry
            continue
        to_run[task.key] = f"{rerun[0]} runs" if rerun else why
    return to_run, kept


def _config_hashes(tasks):
    cache = {}
    hashes = {}
    for task in tasks:
        if task.config is None:
            hashes[task.key] = None
            continue
        if task.config not in cache:
            cache[task.config] = file_sha256(task.config)
        hashes[task.key] = cache[task.config]
    return hashes


def run_workflow(
    tasks,
    manifest_path,
    *,
    client_factory,
    retry_failed=False,
    dry_run=False,
    overwrite=False,
    meta=None,
    log=None,
):
    """Run ``tasks`` (see the module docstring); return a :class:`WorkflowSummary`.

    Parameters
    ----------
    tasks : list of Task
    manifest_path : Path
        The workflow's ``manifest.json`` (created if absent).
    client_factory : callable
        Returns a context manager yielding a ``distributed.Client``; not called for a dry run
        or when nothing has to run.
    retry_failed, dry_run, overwrite : bool
        Re-run recorded failures; only report what would run; run every task again.
    meta : dict or None
        Stored in the manifest (command line, night, …).
    log : logging.Logger or None
        Progress messages (one line per finished task at INFO, failures at WARNING).
    """
    t_start = time.perf_counter()
    ordered = check_graph(tasks)
    manifest = Manifest(manifest_path, meta=meta)
    hashes = _config_hashes(ordered)
    to_run, recorded_failed = plan_status(
        ordered, manifest, retry_failed=retry_failed, overwrite=overwrite, config_hashes=hashes
    )
    statuses, reasons, entries = {}, {}, {}
    for task in ordered:
        if task.key in to_run:
            statuses[task.key], reasons[task.key] = "would-run", to_run[task.key]
        elif task.key in recorded_failed:
            entry = recorded_failed[task.key]
            statuses[task.key] = entry["status"]
            reasons[task.key] = entry.get("message", "")
            entries[task.key] = entry
        else:
            statuses[task.key] = "up-to-date"
            entries[task.key] = manifest.tasks[task.key]
    summary = WorkflowSummary(ordered, statuses, reasons, entries, Path(manifest_path))
    if not dry_run:
        for key, entry in recorded_failed.items():
            if entry["status"] == "blocked" and manifest.tasks.get(key) is not entry:
                manifest.record(entry, flush=False)
    if dry_run or not to_run:
        if not dry_run:
            manifest.write()
        summary.wall_time_s = time.perf_counter() - t_start
        return summary
    by_key = {t.key: t for t in ordered}
    with client_factory() as client:
        _run_on(client, [by_key[k] for k in by_key if k in to_run], hashes, manifest, summary, log)
    summary.wall_time_s = time.perf_counter() - t_start
    return summary


def _run_on(client, tasks, hashes, manifest, summary, log):
    from distributed import as_completed

    futures = {}
    run_id = uuid.uuid4().hex[:8]  # a key computed in an earlier run must not be re-used
    for task in tasks:  # dependency order: the futures of dependencies exist already
        deps = [futures[d] for d in task.upstream if d in futures]
        futures[task.key] = client.submit(
            execute,
            task,
            hashes[task.key],
            *deps,
            key=f"{task.key}@{run_id}",
            pure=False,
            retries=0,
        )
        summary.statuses[task.key] = "pending"
    by_future = {f.key: k for k, f in futures.items()}
    by_key = {t.key: t for t in tasks}
    try:
        for future in as_completed(list(futures.values())):
            key = by_future[future.key]
            task = by_key[key]
            # a signal waits until the entry is in the journal and in the summary: otherwise a
            # finished task could be recorded as interrupted (and redone) by the cleanup below
            with deferred_interruption():
                try:
                    entry = future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker (KilledWorker) or a bug
                    entry = _erred_entry(task, err, summary)
                _store(entry, manifest, summary, log)
    except BaseException:
        client.cancel(list(futures.values()), force=True)
        for task in tasks:
            if summary.statuses[task.key] == "pending":
                entry = new_entry(task, "interrupted", message="the workflow was interrupted")
                summary.statuses[task.key] = "interrupted"
                summary.entries[task.key] = entry
                manifest.tasks[task.key] = entry
        manifest.write()
        raise
    for task in tasks:  # an exception of a dependency reaches its dependents through Dask
        entry = summary.entries.get(task.key, {})
        if entry.get("status") == "failed" and entry.get("started") is None:
            upstream = [d for d in task.depends_on if summary.statuses.get(d) != "done"]
            if upstream:
                entry = new_entry(task, "blocked", message=f"not run: {upstream[0]} failed")
                _store(entry, manifest, summary, None)
    manifest.write()


def _erred_entry(task, err, summary):
    upstream = [d for d in task.depends_on if summary.statuses.get(d) in ("failed", "blocked")]
    if upstream:
        return new_entry(task, "blocked", message=f"not run: {', '.join(upstream)} did not succeed")
    return new_entry(task, "failed", message=f"{type(err).__name__}: {err}", finished=utc_now())


def _store(entry, manifest, summary, log):
    key = entry["key"]
    manifest.record(entry)
    summary.statuses[key] = entry["status"]
    summary.entries[key] = entry
    if entry["status"] != "done":
        summary.reasons[key] = entry.get("message", "")
    if log is not None:
        if entry["status"] == "done":
            log.info("done %s (%.1f s)", key, entry.get("duration_s") or 0.0)
        else:
            log.warning("%s %s: %s", entry["status"], key, entry.get("message", ""))

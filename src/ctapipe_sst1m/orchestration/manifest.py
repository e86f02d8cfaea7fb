"""The workflow manifest: what ran, on what, with which configuration, and how it ended.

One JSON file (``manifest.json``) per workflow (a night, a production). Every task has an entry:

``key``, ``stage``, ``status`` (``done``, ``failed``, ``blocked`` — a task it depends on did not
succeed —, ``interrupted``, ``pending``), ``exit_code``, ``command``, ``inputs`` and ``outputs``
(each ``{"path", "size", "mtime_ns"}``, a directory summarised by the number, total size and a
digest of its files' names, sizes and times), ``log``, ``config`` (the copy beside the log),
``config_sha256``, ``software_version``, ``host``, ``started``/``finished`` (ISO UTC),
``duration_s`` and ``message`` (why it failed).

Writing is crash-safe: each finished task is appended as one JSON line to
``manifest.journal.jsonl`` (flushed and fsync-ed), and the full manifest is rewritten
atomically (temporary file + rename) at most every ``rewrite_interval`` seconds and at the end,
after which the journal is emptied. Reading replays the journal over the manifest, so a kill at
any moment loses at most the line being written.

A product is up to date (:meth:`Manifest.up_to_date`) only if its entry says ``done`` and the
command, the configuration hash, the software version and every input are those recorded, and
every output still exists with the size and modification time recorded when it was made.
"""

import hashlib
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from ..core.atomic import atomic_output
from ..version import __version__

__all__ = [
    "FORMAT",
    "Manifest",
    "file_sha256",
    "new_entry",
    "path_state",
    "utc_now",
]

FORMAT = "ctapipe-sst1m workflow manifest"
FORMAT_VERSION = 1
JOURNAL_SUFFIX = ".journal.jsonl"


def utc_now():
    """Current time as an ISO 8601 UTC string (seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_sha256(path):
    """SHA-256 of a file's bytes (hex), or None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def path_state(path, list_files=False):
    """``{"path", "size", "mtime_ns"}`` of a file, a directory summary, or ``exists: False``.

    A directory (model bank, IRF bank) is summarised by its files: ``size`` is their total
    size, ``n_files`` their number and ``digest`` a SHA-256 of their relative names, sizes and
    modification times, so that any added, removed or rewritten file changes the state.
    With ``list_files``, ``files`` lists their relative names (a product directory).
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return {"path": str(path), "exists": False}
    if not path.is_dir():
        return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    digest, total, names = hashlib.sha256(), 0, []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(root, name)
            try:
                st = full.stat()
            except OSError:
                continue
            rel = full.relative_to(path).as_posix()
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            total += st.st_size
            names.append(rel)
    state = {"path": str(path), "size": total, "n_files": len(names), "digest": digest.hexdigest()}
    if list_files:
        state["files"] = names
    return state


def _same_state(recorded, current):
    keys = ("exists", "size", "mtime_ns", "n_files", "digest")
    return all(recorded.get(k) == current.get(k) for k in keys)


class Manifest:
    """The manifest of one workflow, read from and written to ``path``.

    Parameters
    ----------
    path : Path
        The JSON file (``manifest.json``); the journal is ``<path>.journal.jsonl`` beside it.
    meta : dict or None
        Workflow description kept in the file (command line, night, …); updated on write.
    rewrite_interval : float
        Least time in seconds between two full rewrites during a run (the journal records
        every task in between).
    """

    def __init__(self, path, meta=None, rewrite_interval=2.0):
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        self.rewrite_interval = rewrite_interval
        self.tasks = {}
        self.meta = {}
        self.created = utc_now()
        self.updated = None
        self._last_write = 0.0
        if self.path.exists() or self.journal_path.exists():
            self._read()
        if meta:
            self.meta.update(meta)

    # ------------------------------------------------------------------ reading
    def _read(self):
        if self.path.exists():
            with open(self.path) as f:
                content = json.load(f)
            if content.get("format") != FORMAT:
                raise ValueError(f"{self.path}: not a {FORMAT} (format {content.get('format')!r})")
            self.meta = content.get("meta", {})
            self.created = content.get("created", self.created)
            self.updated = content.get("updated")
            self.tasks = {entry["key"]: entry for entry in content.get("tasks", [])}
        if self.journal_path.exists():
            with open(self.journal_path) as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # the line being written when the process died
                    self.tasks[entry["key"]] = entry

    @classmethod
    def read(cls, path):
        """Open an existing manifest (``FileNotFoundError`` if there is none)."""
        path = Path(path)
        if path.is_dir():
            path = path / "manifest.json"
        if not path.exists() and not path.with_name(path.name + JOURNAL_SUFFIX).exists():
            raise FileNotFoundError(f"{path}: no workflow manifest here")
        return cls(path)

    # ------------------------------------------------------------------ writing
    def record(self, entry, flush=True):
        """Store a task entry; append it to the journal and rewrite the file when due."""
        self.tasks[entry["key"]] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal_path, "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if flush and time.monotonic() - self._last_write >= self.rewrite_interval:
            self.write()

    def write(self):
        """Rewrite the whole manifest atomically, then empty the journal."""
        content = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": self.created,
            "updated": utc_now(),
            "software_version": __version__,
            "meta": self.meta,
            "tasks": list(self.tasks.values()),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.path, overwrite=True) as tmp:
            with open(tmp, "w") as f:
                json.dump(content, f, indent=1, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
        self.journal_path.unlink(missing_ok=True)
        self._last_write = time.monotonic()

    # ------------------------------------------------------------------ queries
    def up_to_date(self, task, config_sha256=None):
        """``(True, "")`` if the recorded product of ``task`` is valid now, else ``(False, why)``.

        ``config_sha256`` is the hash of the configuration file the task would use now.
        """
        entry = self.tasks.get(task.key)
        if entry is None:
            return False, "never ran"
        if entry.get("status") != "done":
            return False, f"last run {entry.get('status')}"
        if entry.get("command") != list(task.command):
            return False, "command changed"
        if entry.get("config_sha256") != config_sha256:
            return False, "configuration changed"
        if entry.get("software_version") != __version__:
            return False, f"made with version {entry.get('software_version')}"
        recorded_in = {e["path"]: e for e in entry.get("inputs", [])}
        for path in (*task.inputs, *task.optional_inputs):
            rec = recorded_in.get(str(path))
            if rec is None or not _same_state(rec, path_state(path)):
                return False, f"input {path} changed"
        recorded_out = {e["path"]: e for e in entry.get("outputs", [])}
        for path in task.products:
            rec = recorded_out.get(str(path))
            current = path_state(path)
            if current.get("exists") is False:
                return False, f"output {path} missing"
            if rec is None or not _same_state(rec, current):
                return False, f"output {path} modified since it was made"
        return True, ""

    def status_counts(self):
        """``{stage: {status: count}}`` over all entries."""
        counts = {}
        for entry in self.tasks.values():
            stage = counts.setdefault(entry.get("stage", "?"), {})
            stage[entry.get("status", "?")] = stage.get(entry.get("status", "?"), 0) + 1
        return counts


def new_entry(task, status, **fields):
    """A manifest entry for ``task`` (fields not given are filled with neutral values)."""
    entry = {
        "key": task.key,
        "stage": task.stage,
        "status": status,
        "exit_code": None,
        "command": list(task.command),
        "inputs": [{"path": str(p)} for p in (*task.inputs, *task.optional_inputs)],
        "outputs": [{"path": str(p)} for p in task.outputs],
        "log": str(task.log),
        "config": None,
        "config_sha256": None,
        "depends_on": list(task.depends_on),
        "software_version": __version__,
        "host": socket.gethostname(),
        "started": None,
        "finished": None,
        "duration_s": None,
        "message": "",
    }
    entry.update(fields)
    return entry

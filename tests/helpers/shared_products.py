"""Build a session product once per test run, shared by every pytest-xdist worker.

A session fixture runs once per *worker*; with ``-n 2`` an expensive product would be built
twice. `build_once` builds it in a directory common to the workers of one run (the parent of the
workers' base temporary directories), under an exclusive ``flock``: the first worker builds, the
others wait and then use the finished directory. A build that failed leaves a ``FAILED`` marker
with the error, so the waiting workers fail at once with the same message instead of retrying.
"""

import fcntl
import os
import traceback
from pathlib import Path

import pytest

__all__ = ["build_once"]


def _shared_root(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    # under xdist every worker's basetemp is <run>/popen-gwN; the run's directory is shared
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name, builder):
    """Return ``root / name`` after ``builder(directory)`` has filled it exactly once this run."""
    directory = _shared_root(tmp_path_factory) / name
    directory.mkdir(parents=True, exist_ok=True)
    done, failed = directory / "COMPLETE", directory / "FAILED"
    with open(directory.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if failed.exists():
                pytest.fail(f"shared product {name!r} failed to build:\n{failed.read_text()}")
            if not done.exists():
                try:
                    builder(directory)
                except BaseException:
                    failed.write_text(traceback.format_exc())
                    raise
                done.write_text("ok\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Path(directory)

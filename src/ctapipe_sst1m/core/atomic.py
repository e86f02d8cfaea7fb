"""Atomic output files: write to a temporary file beside the target, rename when complete.

A crash (or Ctrl-C) while writing leaves no half-written file under the final name that a
later step could mistake for a valid product; the temporary file is removed.

Two forms of the same mechanism:

* :func:`atomic_output`, a context manager for code that writes a file in one block;
* :class:`PendingOutput`, for ctapipe Tools whose writer opens the file in ``setup`` and closes
  it in ``finish``: register it with ``Tool.enter_context`` (so a failure removes the temporary
  file) and call :meth:`PendingOutput.commit` once the writer is closed.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .write_check import check_written

__all__ = ["PendingOutput", "atomic_output", "atomic_savefig"]


class PendingOutput:
    """A temporary file in the target's directory that becomes the target on :meth:`commit`.

    Parameters
    ----------
    path : str or Path
        Final output path.
    overwrite : bool
        If False and ``path`` exists, raise ``FileExistsError`` before anything is written.
    suffix : str or None
        Suffix of the temporary file (defaults to the target's suffixes, so that libraries
        that choose the format by extension keep working).

    The temporary path (:attr:`path`) does not exist yet: some writers refuse to open an
    existing file. Leaving the ``with`` block (or calling :meth:`discard`) without a commit
    removes whatever was written there.
    """

    def __init__(self, path, overwrite=False, suffix=None):
        self.target = Path(path)
        if self.target.exists() and not overwrite:
            raise FileExistsError(f"output {self.target} exists; use --overwrite to replace it")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if suffix is None:
            suffix = "".join(self.target.suffixes) or ".tmp"
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.target.name}.", suffix=f".part{suffix}", dir=self.target.parent
        )
        os.close(fd)
        self.path = Path(tmp)
        self.path.unlink()
        self.committed = False

    def commit(self):
        """Move the completed temporary file onto the target name.

        A file whose writes were lost (full disk, see `check_written`) raises ``OSError``
        instead and is not committed.
        """
        if not self.path.exists():
            raise RuntimeError(f"nothing was written to {self.target}")
        if self.path.is_file():
            check_written(self.path, name=self.target)
        os.replace(self.path, self.target)
        self.committed = True
        return self.target

    def discard(self):
        """Remove the temporary file unless it was committed (idempotent)."""
        if not self.committed:
            self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()
        return False


@contextmanager
def atomic_output(path, overwrite=False, suffix=None):
    """Yield a temporary path in the target's directory; move it to ``path`` on success.

    Parameters are those of :class:`PendingOutput`.
    """
    with PendingOutput(path, overwrite=overwrite, suffix=suffix) as pending:
        yield pending.path
        pending.commit()


def atomic_savefig(fig, path, overwrite=True, **kwargs):
    """Save a matplotlib figure atomically (format taken from the target's extension)."""
    path = Path(path)
    fmt = kwargs.pop("format", path.suffix.lstrip(".") or "png")
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)
    return path

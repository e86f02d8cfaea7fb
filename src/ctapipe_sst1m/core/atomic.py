"""Atomic output files: write to a temporary file beside the target, rename when complete.

A crash (or Ctrl-C) while writing leaves no half-written file under the final name that a
later step could mistake for a valid product; the temporary file is removed.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_output", "atomic_savefig"]


@contextmanager
def atomic_output(path, overwrite=False, suffix=None):
    """Yield a temporary path in the target's directory; move it to ``path`` on success.

    Parameters
    ----------
    path : str or Path
        Final output path.
    overwrite : bool
        If False and ``path`` exists, raise ``FileExistsError`` before anything is written.
    suffix : str or None
        Suffix of the temporary file (defaults to the target's suffixes, so that libraries
        that choose the format by extension keep working).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"output {path} exists; use --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()  # let the writer create it; some libraries refuse to open an existing file
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to {path}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_savefig(fig, path, overwrite=True, **kwargs):
    """Save a matplotlib figure atomically (format taken from the target's extension)."""
    path = Path(path)
    fmt = kwargs.pop("format", path.suffix.lstrip(".") or "png")
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)
    return path

"""Detect a file whose writes were lost (full disk), before it is committed.

HDF5 and PyTables drop some write errors: on a full file system the raw-data chunks that do
not fit are never written, no exception is raised, and the closed file has *holes* that read
back as zeros (or as missing chunks) — a complete-looking product with lost tables.
:func:`check_written` makes such a file fail the run instead:

* ``fsync`` the file, so that errors the operating system reports late (network file
  systems, quotas) surface now;
* ask the file system for the first hole (``SEEK_HOLE``): a file written start to end by HDF5
  has none, so a hole before the end means data that never reached the disk.
"""

import errno
import os
from pathlib import Path

__all__ = ["check_written"]


def check_written(path, name=None):
    """Raise ``OSError(ENOSPC)`` naming ``name`` (default ``path``) if ``path`` lost data."""
    path = Path(path)
    name = str(name if name is not None else path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        size = os.fstat(fd).st_size
        try:
            hole = os.lseek(fd, 0, os.SEEK_HOLE)
        except OSError:  # file system without SEEK_HOLE support: nothing more to learn
            hole = size
    finally:
        os.close(fd)
    if hole < size:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

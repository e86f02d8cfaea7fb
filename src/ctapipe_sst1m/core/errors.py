"""The one error idiom of the package.

Library code raises :class:`SST1MInputError` (or a subclass) when a file or value the user gave
cannot be used; its message is one line that names the file and the fix. The Tools of the
package (:class:`~ctapipe_sst1m.core.tool.SST1MTool`) turn it, and operating-system write
errors, into ctapipe's ``ToolConfigurationError``: one logged line and exit status 2, never a
traceback from deep inside a library.
"""

import errno

__all__ = ["SST1MInputError", "describe_hdf5_error", "describe_os_error"]


class SST1MInputError(ValueError):
    """A user-supplied input cannot be used; ``str(err)`` is one line naming it and the fix."""


_OS_HINTS = {
    errno.ENOSPC: "no space left on the device; free space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free space or write elsewhere",
    errno.EACCES: "permission denied; choose a writable location",
    errno.EPERM: "operation not permitted; choose a writable location",
    errno.EROFS: "read-only file system; choose a writable location",
    errno.ENOENT: "no such file or directory",
}


def describe_os_error(err):
    """One line for an ``OSError``: the file it concerns and what to do about it."""
    hint = _OS_HINTS.get(err.errno, err.strerror or str(err))
    name = err.filename if err.filename is not None else "output"
    return f"{name}: {hint}"


def describe_hdf5_error(err):
    """One line for a PyTables ``HDF5ExtError`` (whose message is HDF5's multi-line trace)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    what = lines[-1] if lines else type(err).__name__
    return (
        f"HDF5 error: {what}; check that the input files are intact and that the output disk"
        " is not full"
    )

"""`SST1MTool`: what every command of the package does the same way.

A mixin placed first in the bases of each Tool (``class X(SST1MTool, ProcessorTool)``):

* **no silent configuration**: words that no option consumed, configuration sections that name
  no class and keys that no class reads are refused in one line (:mod:`.config`);
* **one error idiom**: `~ctapipe_sst1m.core.errors.SST1MInputError` and operating-system
  errors (full disk, read-only directory, …) raised in ``setup``/``start``/``finish`` become
  ctapipe's one-line ``ToolConfigurationError`` (exit status 2) instead of a traceback;
* **outputs checked before the work starts and written atomically**: :meth:`prepare_output`
  (existing file without ``--overwrite``, missing or read-only directory), and the provenance log's
  directory is checked in ``initialize``;
* **clean interruption**: SIGTERM and SIGINT end the run through the exit stack (temporary
  outputs removed, status 130), see :mod:`.signals`;
* **plain logs where nobody looks at a terminal**: ANSI colours only when standard error is a
  terminal and ``NO_COLOR`` is unset (log files of batch jobs stay readable).
"""

import os
import sys
import tempfile
from pathlib import Path

from ctapipe.core import ToolConfigurationError
from ctapipe.core.logging import DEFAULT_LOGGING_FORMAT
from tables import HDF5ExtError

from .arguments import reject_extra_arguments
from .atomic import PendingOutput
from .config import check_config
from .errors import SST1MInputError, describe_hdf5_error, describe_os_error
from .signals import interruptible

__all__ = ["SST1MTool", "check_writable_directory"]


def check_writable_directory(directory, what="output"):
    """Raise ``ToolConfigurationError`` unless ``directory`` exists and accepts a new file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ToolConfigurationError(
            f"{what} directory {directory} does not exist; create it first"
        )
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        raise ToolConfigurationError(
            f"{what} directory {directory} is not writable; choose a writable location"
        ) from None


def _one_line_errors(method):
    def wrapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except SST1MInputError as err:
            raise ToolConfigurationError(str(err)) from None
        except OSError as err:
            raise ToolConfigurationError(describe_os_error(err)) from None
        except HDF5ExtError as err:
            raise ToolConfigurationError(describe_hdf5_error(err)) from None

    wrapped.__wrapped__ = method
    wrapped.__doc__ = method.__doc__
    return wrapped


def _wants_colour(stream):
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


class SST1MTool:
    """Mixin for the package's ctapipe Tools (put it first in the bases)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not _wants_colour(sys.stderr):
            plain = {"()": "ctapipe.core.logging.PlainFormatter", "fmt": DEFAULT_LOGGING_FORMAT}
            self.log_config = {"formatters": {"console": plain}}

    def initialize(self, argv=None):
        """ctapipe's ``initialize``, then refuse stray words and unknown configuration."""
        super().initialize(argv)
        reject_extra_arguments(self)
        sources = ", ".join(str(p) for p in (self.config_files or [])) or "command line"
        try:
            check_config(self.config, source=f"configuration ({sources})")
        except SST1MInputError as err:
            raise ToolConfigurationError(str(err)) from None
        log_dir = Path(self.provenance_log).expanduser().absolute().parent
        if log_dir.is_dir() and not os.access(log_dir, os.W_OK):
            wanted = self.provenance_log
            self.provenance_log = os.devnull  # ctapipe writes the log even after an error
            raise ToolConfigurationError(
                f"provenance log {wanted} cannot be written ({log_dir} is"
                " read-only); give --provenance-log in a writable directory"
            )

    def run(self, argv=None, raises=False):
        """ctapipe's ``run`` with signal handling and one-line errors in the three stages."""
        for name in ("setup", "start", "finish"):
            setattr(self, name, _one_line_errors(getattr(self, name)))
        with interruptible():
            return super().run(argv=argv, raises=raises)

    def prepare_output(self, path, suffix=None):
        """Check ``path`` now and return a `PendingOutput` closed with the Tool.

        The check uses ``self.overwrite``; the output directory must exist and be writable.
        Write into ``pending.path`` and call ``pending.commit()`` when complete; a failure or
        an interruption removes the temporary file.
        """
        path = Path(path).expanduser().absolute()
        self.check_output(path)
        check_writable_directory(path.parent)
        return self.enter_context(PendingOutput(path, overwrite=True, suffix=suffix))

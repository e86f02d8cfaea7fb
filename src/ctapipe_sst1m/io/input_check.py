"""Why no event source reads a file: one line naming the file and what to give instead.

ctapipe answers an unreadable input with ``ValueError: Could not find compatible EventSource``
and a traceback. :func:`check_event_input` says instead what the file is (empty, text, a FITS
file without DigiCam events, unknown bytes) before any source is built.
"""

from pathlib import Path

from ctapipe.io import EventSource

from ..core.errors import SST1MInputError

__all__ = ["check_event_input", "readable_by_some_source"]

_FIX = "give an SST-1M raw file (SST1M*_*.fits.fz) or a simulation file ctapipe reads"


def readable_by_some_source(path):
    """True if one of the installed ctapipe event sources claims ``path``."""
    for cls in EventSource.non_abstract_subclasses().values():
        try:
            if cls.is_compatible(path):
                return True
        except Exception:  # noqa: BLE001, S112 - a plugin's check must not decide for us
            continue
    return False


def _looks_like_text(head):
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def check_event_input(path):
    """Raise `SST1MInputError` (one line) unless some event source can read ``path``."""
    path = Path(path)
    if not path.is_file():
        raise SST1MInputError(f"{path}: no such file; {_FIX}")
    if path.stat().st_size == 0:
        raise SST1MInputError(f"{path}: empty file (0 bytes); {_FIX}")
    if readable_by_some_source(path):
        return
    with open(path, "rb") as stream:
        head = stream.read(2880)
    if head.startswith(b"SIMPLE  ="):
        what = "a FITS file without readable DigiCam events (cut short, or another camera)"
    elif _looks_like_text(head[:512]):
        what = "a text file, not event data"
    else:
        what = "not a format any installed event source reads (damaged or unknown bytes)"
    raise SST1MInputError(f"{path}: {what}; {_FIX}")

"""Appending to a Tool's ``DataWriter`` output when the tool exits, through public APIs only.

Components built while a ctapipe Tool sets up its event source (the pointing recorder, the
calibration record of the SST-1M source) add their tables to the DL1 file *after* the
``DataWriter`` closed it: they register a callback with the public ``Tool.enter_context``
before the writer is entered, and the tool's exit stack is last in, first out.
"""

from contextlib import contextmanager
from pathlib import Path

from ctapipe.core import Tool

__all__ = ["at_exit", "parent_tool", "register_at_tool_exit", "tool_output_path"]


@contextmanager
def at_exit(callback):
    """A context manager calling ``callback()`` when its block ends without an exception."""
    yield
    callback()


def parent_tool(component):
    """The Tool that (indirectly) owns ``component``, or None."""
    parent = component.parent
    while parent is not None and not isinstance(parent, Tool):
        parent = getattr(parent, "parent", None)
    return parent


def register_at_tool_exit(component, callback):
    """Call ``callback()`` when the Tool owning ``component`` exits; False without a tool."""
    tool = parent_tool(component)
    if tool is None:
        return False
    tool.enter_context(at_exit(callback))
    return True


def tool_output_path(component, explicit=None):
    """``explicit`` if given, else the ``DataWriter.output_path`` of the configuration."""
    if explicit is not None:
        return Path(explicit)
    value = component.config.get("DataWriter", {}).get("output_path")
    return None if value is None else Path(value).expanduser()

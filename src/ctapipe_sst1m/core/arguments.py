"""Refuse command-line words that no option consumed.

traitlets keeps such words in ``Application.extra_args`` and ctapipe Tools ignore them, so
``sst1m-train-models --modes mono stereo`` silently trained only the mono models ("stereo" was
left over). Every package Tool calls :func:`reject_extra_arguments` first in ``setup``.
"""

from ctapipe.core import ToolConfigurationError

__all__ = ["reject_extra_arguments"]


def reject_extra_arguments(tool):
    """Raise a one-line `ToolConfigurationError` if ``tool`` was given unconsumed arguments."""
    extra = list(getattr(tool, "extra_args", []) or [])
    if extra:
        raise ToolConfigurationError(
            f"{tool.name}: unexpected argument(s) {' '.join(extra)}; options take one value"
            " each (repeat list options: --modes mono --modes stereo, -i a -i b)"
        )

"""Refuse command-line words that no option consumed.

traitlets keeps such words in ``Application.extra_args`` and ctapipe Tools ignore them, so
``sst1m-train-models --modes mono stereo`` silently trained only the mono models ("stereo" was
left over). Every package Tool calls :func:`reject_extra_arguments` first in ``setup``.
"""

from ctapipe.core import ToolConfigurationError

__all__ = ["reject_extra_arguments", "spread_list_option"]


def reject_extra_arguments(tool):
    """Raise a one-line `ToolConfigurationError` if ``tool`` was given unconsumed arguments."""
    extra = list(getattr(tool, "extra_args", []) or [])
    if extra:
        raise ToolConfigurationError(
            f"{tool.name}: unexpected argument(s) {' '.join(extra)}; options take one value"
            " each (repeat list options: --modes mono --modes stereo, -i a -i b)"
        )


def spread_list_option(argv, names):
    """``-i a b c`` → ``-i a -i b -i c`` for the list options ``names`` (``("-i", "--input")``).

    Words after such an option up to the next word starting with ``-`` are its values, so a
    shell glob expanded into many files is taken whole; other arguments are unchanged.
    """
    out, current, taken = [], None, 0
    for word in [*argv, None]:
        if current is not None and word is not None and not word.startswith("-"):
            out += [current, word]
            taken += 1
            continue
        if current is not None and taken == 0:
            out.append(current)  # no value: traitlets reports it
        current, taken = (word, 0) if word in names else (None, 0)
        if current is None and word is not None:
            out.append(word)
    return out

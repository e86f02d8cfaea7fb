"""Expand the ``-i/--input`` values of the tools: files, directories and glob patterns."""

import glob
from pathlib import Path

__all__ = ["expand_input_paths"]


def expand_input_paths(values, patterns=("*.h5", "*.hdf5"), must_exist=True):
    """Turn files, directories and globs into a sorted, de-duplicated list of files.

    Parameters
    ----------
    values : iterable of str or Path
        What the user passed.
    patterns : tuple of str
        File patterns used inside directories.
    must_exist : bool
        Raise ``FileNotFoundError`` naming the first value that matched nothing.
    """
    found = []
    for value in values:
        value = Path(value).expanduser()
        if value.is_dir():
            matches = sorted({p for pat in patterns for p in value.glob(pat) if p.is_file()})
        elif any(ch in str(value) for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(str(value)) if Path(p).is_file())
        elif value.is_file():
            matches = [value]
        else:
            matches = []
        if not matches and must_exist:
            raise FileNotFoundError(f"input {value} matches no file")
        found.extend(matches)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique

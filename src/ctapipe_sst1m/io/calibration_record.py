"""Which calibration files made a DL1 file: path and SHA-256 per telescope, in the file itself.

The dark-run and window files are not part of the package and their content names no
telescope, so a DL1 file records them: one row per telescope and kind in
``/configuration/sst1m/calibration_files`` (``tel_id``, ``kind``, ``path``, ``sha256``; the
kind ``nominal`` with an empty path when no file was given), and each file is registered as an
input in ctapipe's provenance log.
"""

import hashlib
from pathlib import Path

import numpy as np
from astropy.table import Table
from ctapipe.core import Provenance
from ctapipe.io import write_table

from .datamodel import CALIBRATION_FILES_TABLE

__all__ = ["calibration_table", "file_sha256", "write_calibration_table"]


def file_sha256(path, block_size=1 << 20):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


def calibration_table(inputs):
    """Table of ``{tel_id: {kind: path or None}}`` with the SHA-256 of each file.

    Registers every file as a provenance input (role ``DigiCam <kind> tel <id>``).
    """
    rows = []
    for tel_id, kinds in sorted(inputs.items()):
        if kinds.get("calibration_file") is None:
            rows.append((tel_id, "nominal", "", ""))
        for kind, path in kinds.items():
            if path is None:
                continue
            path = Path(path).absolute()
            rows.append((tel_id, kind, str(path), file_sha256(path)))
            Provenance().add_input_file(
                str(path), role=f"DigiCam {kind} tel {tel_id}", add_meta=False
            )
    return Table(
        rows=rows or None,
        names=("tel_id", "kind", "path", "sha256"),
        dtype=(np.int16, str, str, str),
    )


def write_calibration_table(path, table):
    """Write the calibration table into an existing DL1 file (replacing an older one)."""
    write_table(table, path, CALIBRATION_FILES_TABLE, overwrite=True)

"""The data-quality (DQ) table: one row per run and telescope setup; ECSV or FITS.

Columns (see ``docs/guide/quality.rst``): ``obs_id`` (int, YYYYMMDDRRRR), ``tel_setup``
(``tel_021``, ``tel_022``, ``stereo``), ``good`` (bool), ``flags`` (the reasons of every
failed criterion joined by "; ", empty when good), ``wobble`` (W1, W2 … per distinct pointing
position of the setup in the table, in order of first use) and ``wobble_obs_id`` (the obs_id of
the first run of each contiguous block of runs on one wobble: the obs_id of a per-wobble DL3
observation), then the metric columns with their units.

A per-wobble consumer (a DL3 file that merges the runs of a wobble) takes the runs with its
``wobble_obs_id`` and keeps only the good ones, or drops the wobble if any is bad; a per-run
consumer uses ``obs_id``. :func:`good_obs_ids` gives the obs_ids of the good runs.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from ..core.errors import SST1MInputError

__all__ = [
    "FIRST_COLUMNS",
    "assign_wobbles",
    "build_table",
    "good_obs_ids",
    "read_dq_table",
    "write_dq_table",
]

FIRST_COLUMNS = ("obs_id", "tel_setup", "good", "flags", "wobble", "wobble_obs_id")
FORMAT = "sst1m-dq-table/1"


def assign_wobbles(table, tolerance=0.2 * u.deg):
    """Fill ``wobble`` and ``wobble_obs_id`` (per setup, runs in obs_id order)."""
    n = len(table)
    wobble = np.full(n, "", dtype=object)
    first = np.asarray(table["obs_id"]).copy()
    setups = np.asarray(table["tel_setup"]).astype(str)
    for setup in np.unique(setups):
        rows = np.flatnonzero(setups == setup)
        rows = rows[np.argsort(np.asarray(table["obs_id"])[rows])]
        positions = []
        previous, block = None, None
        for k in rows:
            ra, dec = table["pointing_ra"][k], table["pointing_dec"][k]
            ok = np.isfinite(u.Quantity(ra).value) and np.isfinite(u.Quantity(dec).value)
            here = SkyCoord(ra, dec) if ok else None
            label = None
            for j, p in enumerate(positions):
                if here is not None and here.separation(p) < tolerance:
                    label = j
                    break
            if label is None:
                positions.append(here)
                label = len(positions) - 1
            wobble[k] = f"W{label + 1}"
            if label != previous:
                block = int(table["obs_id"][k])
            first[k] = block
            previous = label
    table["wobble"] = wobble.astype(str)
    table["wobble_obs_id"] = first.astype(np.int64)
    return table


def build_table(rows, criteria):
    """QTable from metric rows (dicts), with wobbles, ``good`` and ``flags`` from ``criteria``."""
    table = QTable(rows=rows) if rows else QTable()
    if len(table) == 0:
        return table
    table["obs_id"] = np.asarray(table["obs_id"], dtype=np.int64)
    table.sort(["tel_setup", "obs_id"])
    assign_wobbles(table)
    good, flags = criteria(table)
    table["good"] = good
    table["flags"] = np.array(flags, dtype=str) if any(flags) else np.array(flags, dtype="U1")
    order = list(FIRST_COLUMNS) + [c for c in table.colnames if c not in FIRST_COLUMNS]
    table = table[order]
    table.meta["format"] = FORMAT
    table.meta["comments"] = ["Data-quality table of sst1m-data-quality (docs/guide/quality.rst)"]
    return table


def write_dq_table(table, path):
    """Write ``table`` to ``path``: ECSV for ``.ecsv``, FITS for ``.fits``/``.fits.gz``."""
    name = Path(path).name
    if name.endswith(".ecsv"):
        table.write(path, format="ascii.ecsv", overwrite=True)
    elif name.endswith((".fits", ".fits.gz", ".fit")):
        out = table.copy()
        out.meta = {"FORMAT": FORMAT}
        out.write(path, format="fits", overwrite=True)
    else:
        raise SST1MInputError(f"{path}: unknown DQ table format; name it .ecsv or .fits(.gz)")


def read_dq_table(path):
    """Read a DQ table (ECSV or FITS); `SST1MInputError` if it lacks the required columns."""
    path = Path(path)
    name = path.name
    try:
        fmt = "ascii.ecsv" if name.endswith(".ecsv") else "fits"
        table = QTable.read(path, format=fmt)
    except (OSError, ValueError) as err:
        raise SST1MInputError(f"{path}: not a readable DQ table ({err})") from None
    missing = [c for c in ("obs_id", "tel_setup", "good", "flags") if c not in table.colnames]
    if missing:
        raise SST1MInputError(
            f"{path}: DQ table without column(s) {', '.join(missing)}; write it with"
            " sst1m-data-quality"
        )
    table["tel_setup"] = np.asarray(table["tel_setup"]).astype(str)
    table["flags"] = [str(f) if str(f) not in ("--", "N/A") else "" for f in table["flags"]]
    return table


def good_obs_ids(table, tel_setup=None):
    """Sorted obs_ids of the good runs (of one setup if given)."""
    table = Table(table)
    sel = np.asarray(table["good"], dtype=bool)
    if tel_setup is not None:
        sel &= np.asarray(table["tel_setup"]).astype(str) == tel_setup
    return sorted(int(o) for o in np.asarray(table["obs_id"])[sel])

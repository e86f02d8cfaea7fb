"""Index files over DL3 observations: ``hdu-index.fits.gz`` and ``obs-index.fits.gz``.

Written by the package (not by gammapy's ``DataStoreMaker``): ``FILE_DIR`` is relative to the
index directory (the directory can be moved with its DL3 files), the IRF rows point into the
DL3 file itself (embedded IRFs) or to the linked bank file, the pointing HDU is listed, and the
obs-index has the pointing, livetime and telescope columns. Observations whose runs are
flagged bad in a good-run table are left out (and logged).
"""

import logging
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..core.atomic import atomic_output
from ..core.errors import SST1MInputError
from .irf_interpolation import IRF_HDUS
from .timesys import TIME_HEADER
from .writer import GADF, RUNS_HDU

__all__ = ["DL3_PATTERNS", "dl3_files", "runs_of", "write_index"]

log = logging.getLogger(__name__)
DL3_PATTERNS = ("dl3_*.fits.gz", "dl3_*.fits")
_OBS_COLUMNS = [
    ("OBS_ID", np.int64), ("DATE-OBS", str), ("TIME-OBS", str), ("DATE-END", str),
    ("TIME-END", str), ("RA_PNT", float), ("DEC_PNT", float), ("ZEN_PNT", float),
    ("ALT_PNT", float), ("AZ_PNT", float), ("RA_OBJ", float), ("DEC_OBJ", float),
    ("TSTART", float), ("TSTOP", float), ("ONTIME", float), ("TELAPSE", float),
    ("LIVETIME", float), ("DEADC", float), ("OBJECT", str), ("OBS_MODE", str),
    ("N_TELS", np.int64), ("TELLIST", str), ("INSTRUME", str), ("TELSETUP", str),
    ("IRF_METH", str), ("N_RUNS", np.int64), ("EVENT_COUNT", np.int64),
]  # fmt: skip
_HDU_COLUMNS = ["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME", "SIZE"]


def runs_of(dl3_file):
    """obs_id of every run of the observation in ``dl3_file``."""
    with fits.open(dl3_file) as hdul:
        return [int(x) for x in hdul[RUNS_HDU].data["OBS_ID"]]


def dl3_files(paths_or_dirs):
    """DL3 files (``dl3_*.fits[.gz]``) of files and directories, sorted."""
    found = []
    for value in [paths_or_dirs] if isinstance(paths_or_dirs, (str, Path)) else paths_or_dirs:
        value = Path(value)
        if value.is_dir():
            found.extend(p for pat in DL3_PATTERNS for p in value.glob(pat))
        elif value.is_file():
            found.append(value)
        else:
            raise SST1MInputError(f"{value}: no such DL3 file or directory")
    return sorted(dict.fromkeys(p.resolve() for p in found))


def _hdu_rows(path, hdul, index_dir, obs_id):
    rel = os.path.relpath(path.parent, index_dir)
    size = path.stat().st_size
    rows = [
        (obs_id, "events", "events", rel, path.name, "EVENTS", size),
        (obs_id, "gti", "gti", rel, path.name, "GTI", size),
        (obs_id, "pointing", "pointing", rel, path.name, "POINTING", size),
    ]
    for name, (kind, cls) in IRF_HDUS.items():
        if name in hdul:
            rows.append((obs_id, kind, cls, rel, path.name, name, size))
    linked = hdul["EVENTS"].header.get("IRF_FILE")
    if linked:
        irf = (path.parent / linked).resolve()
        if not irf.is_file():
            raise SST1MInputError(f"{path}: linked IRF file {irf} does not exist")
        with fits.open(irf) as irf_hdul:
            names = [h.name for h in irf_hdul[1:]]
        rel_irf = os.path.relpath(irf.parent, index_dir)
        for name, (kind, cls) in IRF_HDUS.items():
            if name in names:
                rows.append((obs_id, kind, cls, rel_irf, irf.name, name, irf.stat().st_size))
    return rows


def write_index(dl3_paths_or_dirs, index_dir, good_runs=None, overwrite=True):
    """Write ``hdu-index.fits.gz`` and ``obs-index.fits.gz`` into ``index_dir``.

    ``good_runs``: None, a path or a `~ctapipe_sst1m.dl3.good_runs.GoodRuns`. Returns
    (indexed OBS_IDs, {excluded OBS_ID: reason}). With no DL3 file, empty tables are written.
    """
    from .good_runs import GoodRuns, read_good_runs

    index_dir = Path(index_dir).resolve()
    if good_runs is not None and not isinstance(good_runs, GoodRuns):
        good_runs = read_good_runs(good_runs)
    hdu_rows, obs_rows, excluded, seen = [], [], {}, {}
    for path in dl3_files(dl3_paths_or_dirs):
        with fits.open(path) as hdul:
            if "EVENTS" not in hdul or RUNS_HDU not in hdul:
                raise SST1MInputError(
                    f"{path}: not a DL3 file of sst1m-dl2-dl3 (EVENTS, {RUNS_HDU})"
                )
            header = hdul["EVENTS"].header
            obs_id = int(header["OBS_ID"])
            if obs_id in seen:
                raise SST1MInputError(
                    f"{path}: OBS_ID {obs_id} is also in {seen[obs_id]}; index one telescope"
                    " setup (or one copy) per index directory"
                )
            seen[obs_id] = path
            runs = [int(x) for x in hdul[RUNS_HDU].data["OBS_ID"]]
            if good_runs is not None:
                bad = good_runs.bad_runs(runs, header["TELSETUP"])
                if bad:
                    reason = "; ".join(f"run {r}: {f or 'bad'}" for r, f in bad.items())
                    excluded[obs_id] = reason
                    log.warning("observation %d excluded from the index (%s)", obs_id, reason)
                    continue
            hdu_rows.extend(_hdu_rows(path, hdul, index_dir, obs_id))
            row = {k: header.get(k, "" if t is str else -1) for k, t in _OBS_COLUMNS}
            row["EVENT_COUNT"] = len(hdul["EVENTS"].data)
            obs_rows.append(row)
    hdu_dtype = [np.int64, str, str, str, str, str, np.int64]
    hdu_table = Table(rows=hdu_rows or None, names=_HDU_COLUMNS, dtype=hdu_dtype)
    obs_names, obs_dtype = [k for k, _ in _OBS_COLUMNS], [t for _, t in _OBS_COLUMNS]
    obs_values = [[r[k] for k in obs_names] for r in obs_rows] or None
    obs_table = Table(rows=obs_values, names=obs_names, dtype=obs_dtype)
    common = {**GADF, "HDUCLAS1": "INDEX"}
    hdu_table.meta.update({**common, "HDUCLAS2": "HDU", "BASE_DIR": str(index_dir)})
    obs_table.meta.update(
        {**common, "HDUCLAS2": "OBS", **{k: v[0] for k, v in TIME_HEADER.items()}}
    )
    index_dir.mkdir(parents=True, exist_ok=True)
    for table, name, extname in ((hdu_table, "hdu-index.fits.gz", "HDU_INDEX"),
                                 (obs_table, "obs-index.fits.gz", "OBS_INDEX")):  # fmt: skip
        hdu = fits.BinTableHDU(table, name=extname)
        with atomic_output(index_dir / name, overwrite=overwrite, suffix=".fits.gz") as tmp:
            fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return sorted(r["OBS_ID"] for r in obs_rows), excluded

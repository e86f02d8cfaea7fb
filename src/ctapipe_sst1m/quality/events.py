"""Compact per-run event arrays of one telescope setup, read chunk by chunk from DL1/DL2 files.

A DL1 file of one telescope (``sst1m-r0-dl1``, a toy night), a stereo DL1 file
(``sst1m-dl1-stereo``) or a DL2 file of either (``sst1m-dl1-dl2``, which keeps the DL1 tables)
is read table by table in chunks of ``chunk_size`` rows; only the few columns the data-quality
metrics and the night summary need are kept (about 30 bytes per event), so memory is set by
the largest run, never by the night.

Telescope setups: ``tel_021``, ``tel_022`` (one-telescope files) and ``stereo`` (files with
both telescopes: the events seen by both; their intensity is the smaller of the two images,
which scales with the atmospheric transmission like each image does and keeps both images
above the trigger threshold).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tables
from ctapipe.io import read_table

from ..core.errors import SST1MInputError
from ..io.datamodel import (
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_PARAMETERS_GROUP,
    DL1_TEL_TRIGGER_TABLE,
    DL2_SUBARRAY_GROUP,
    DL2_SUBARRAY_SKY_GROUP,
    OBSERVATION_BLOCK_TABLE,
    STEREO_MATCHING_TABLE,
    tel_node,
    tel_path,
)

__all__ = [
    "STEREO",
    "FileInfo",
    "RunEvents",
    "inspect_file",
    "iter_run_events",
    "setup_name",
]

STEREO = "stereo"
#: ctapipe's EventType.SKY_PEDESTAL
_SKY_PEDESTAL = 2


def setup_name(tel_ids):
    """``tel_021`` for one telescope, ``stereo`` for several."""
    tel_ids = sorted(int(t) for t in tel_ids)
    return tel_node(tel_ids[0]) if len(tel_ids) == 1 else STEREO


@dataclass
class FileInfo:
    """What kind of DL1/DL2 file a path is."""

    path: Path
    tel_ids: list
    is_simulation: bool
    has_dl2: bool
    has_matching: bool

    @property
    def tel_setup(self):
        """Telescope setup of the file's events."""
        return setup_name(self.tel_ids)


def inspect_file(path):
    """Open ``path`` and tell what it holds; `SST1MInputError` if it is no DL1/DL2 file."""
    path = Path(path)
    try:
        with tables.open_file(path, "r") as h5:
            if DL1_TEL_PARAMETERS_GROUP not in h5.root:
                raise SST1MInputError(
                    f"{path}: no {DL1_TEL_PARAMETERS_GROUP}; give DL1 or DL2 files of"
                    " sst1m-r0-dl1, sst1m-dl1-stereo or sst1m-dl1-dl2"
                )
            group = h5.get_node(DL1_TEL_PARAMETERS_GROUP)
            tel_ids = sorted(int(n._v_name.split("_")[1]) for n in group._f_iter_nodes("Table"))
            return FileInfo(
                path=path,
                tel_ids=tel_ids,
                is_simulation="/simulation" in h5.root,
                has_dl2=DL2_SUBARRAY_GROUP in h5.root,
                has_matching=f"{STEREO_MATCHING_TABLE}/events" in h5.root,
            )
    except (tables.HDF5ExtError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise SST1MInputError(f"{path}: no such file; check the input path") from None
        raise SST1MInputError(f"{path}: not an HDF5 file ({err}); give DL1/DL2 files") from None


@dataclass
class RunEvents:
    """Events of one run (``obs_id``) and telescope setup, compact per-event arrays.

    ``time`` is TAI seconds since 1970 (``unix_tai``), sorted; ``intensity`` the image
    intensity in p.e. (stereo: the smaller of the two, NaN if an image did not survive
    cleaning); ``cog`` per telescope the (fov_lon, fov_lat) centroids in degrees;
    ``gammaness``, ``ra``, ``dec`` (deg) come from DL2 files (None otherwise).
    """

    path: Path
    obs_id: int
    tel_setup: str
    tel_ids: list
    time: np.ndarray
    intensity: np.ndarray
    cog: dict = field(default_factory=dict)
    n_rows: dict = field(default_factory=dict)
    n_pedestal: int = 0
    n_pedestal_surviving: int = 0
    delta_t_ns: np.ndarray | None = None
    gammaness: np.ndarray | None = None
    ra: np.ndarray | None = None
    dec: np.ndarray | None = None
    pointing_radec: tuple | None = None
    is_simulation: bool = False

    @property
    def n_events(self):
        """Number of (physics) events of the setup in the run."""
        return len(self.time)


def _chunks(h5, node, chunk_size):
    table = h5.get_node(node)
    for start in range(0, table.nrows, chunk_size):
        yield read_table(h5, node, start=start, stop=min(start + chunk_size, table.nrows))


def _read_columns(h5, node, columns, chunk_size, transform=None):
    """Concatenated numpy columns of ``node`` (read chunk by chunk); {} if absent."""
    if node not in h5.root:
        return {}
    parts = {c: [] for c in columns}
    for chunk in _chunks(h5, node, chunk_size):
        if transform is not None:
            chunk = transform(chunk)
        for c in columns:
            if c in chunk.colnames:
                parts[c].append(np.asarray(chunk[c]))
    return {c: np.concatenate(v) for c, v in parts.items() if v}


def _with_unix_time(chunk):
    chunk["unix_tai"] = chunk["time"].tai.to_value("unix_tai")
    return chunk


def _lookup(keys_obs, keys_evt, obs, evt):
    """Row index into (keys_obs, keys_evt) of every (obs, evt) pair, -1 if absent."""
    out = np.full(len(obs), -1, dtype=np.int64)
    for o in np.unique(obs):
        mine = np.flatnonzero(keys_obs == o)
        if len(mine) == 0:
            continue
        order = mine[np.argsort(keys_evt[mine])]
        sel = np.flatnonzero(obs == o)
        pos = np.clip(np.searchsorted(keys_evt[order], evt[sel]), 0, len(order) - 1)
        hit = keys_evt[order][pos] == evt[sel]
        out[sel[hit]] = order[pos[hit]]
    return out


def _dl2_columns(h5, chunk_size):
    """obs_id, event_id, gammaness and RA/Dec of the first DL2 reconstructors found."""
    out = {}
    group = f"{DL2_SUBARRAY_GROUP}/classification"
    if group in h5.root:
        for node in h5.get_node(group)._f_iter_nodes("Table"):
            prefix = node._v_name
            cols = _read_columns(
                h5, node._v_pathname, ["obs_id", "event_id", f"{prefix}_prediction"], chunk_size
            )
            if f"{prefix}_prediction" in cols:
                out["class"] = (cols["obs_id"], cols["event_id"], cols[f"{prefix}_prediction"])
                break
    if DL2_SUBARRAY_SKY_GROUP in h5.root:
        for node in h5.get_node(DL2_SUBARRAY_SKY_GROUP)._f_iter_nodes("Table"):
            prefix = node._v_name
            names = ["obs_id", "event_id", f"{prefix}_ra", f"{prefix}_dec"]
            cols = _read_columns(h5, node._v_pathname, names, chunk_size)
            if f"{prefix}_ra" in cols:
                out["sky"] = tuple(cols[n] for n in names)
                break
    return out


def _pointing_radec(h5):
    if OBSERVATION_BLOCK_TABLE not in h5.root:
        return {}
    ob = read_table(h5, OBSERVATION_BLOCK_TABLE)
    return {
        int(row["obs_id"]): (
            float(row["subarray_pointing_lon"]),
            float(row["subarray_pointing_lat"]),
        )
        for row in ob
    }


def iter_run_events(info, chunk_size=100_000):
    """Yield the `RunEvents` of every run of the file described by `FileInfo` ``info``."""
    with tables.open_file(info.path, "r") as h5:
        trigger = _read_columns(
            h5,
            DL1_SUBARRAY_TRIGGER_TABLE,
            ["obs_id", "event_id", "unix_tai"],
            chunk_size,
            transform=_with_unix_time,
        )
        tel_trigger = _read_columns(
            h5, DL1_TEL_TRIGGER_TABLE, ["obs_id", "event_id", "tel_id", "event_type"], chunk_size
        )
        params = {
            t: _read_columns(
                h5,
                tel_path(DL1_TEL_PARAMETERS_GROUP, t),
                ["obs_id", "event_id", "hillas_intensity", "hillas_fov_lon", "hillas_fov_lat"],
                chunk_size,
            )
            for t in info.tel_ids
        }
        matching = _read_columns(
            h5, f"{STEREO_MATCHING_TABLE}/events", ["obs_id", "event_id", "is_stereo", "delta_t"],
            chunk_size,
        )  # fmt: skip
        dl2 = _dl2_columns(h5, chunk_size) if info.has_dl2 else {}
        radec = _pointing_radec(h5)
    if not trigger:
        raise SST1MInputError(f"{info.path}: no {DL1_SUBARRAY_TRIGGER_TABLE}; not a DL1 file")
    for obs_id in np.unique(trigger["obs_id"]):
        yield _run_events(info, int(obs_id), trigger, tel_trigger, params, matching, dl2, radec)


def _run_events(info, obs_id, trigger, tel_trigger, params, matching, dl2, radec):
    in_run = trigger["obs_id"] == obs_id
    obs, evt, time = (trigger[c][in_run] for c in ("obs_id", "event_id", "unix_tai"))
    rows = {t: _lookup(p["obs_id"], p["event_id"], obs, evt) for t, p in params.items() if p}
    n_rows = {t: int(np.count_nonzero(r >= 0)) for t, r in rows.items()}
    present = np.all([r >= 0 for r in rows.values()], axis=0)
    # interleaved pedestals written as events (only if the DL1 step kept them)
    is_ped = np.zeros(len(obs), dtype=bool)
    if tel_trigger:
        ped = tel_trigger["event_type"] == _SKY_PEDESTAL
        ped_keys = _lookup(tel_trigger["obs_id"][ped], tel_trigger["event_id"][ped], obs, evt)
        is_ped = ped_keys >= 0
    keep = present & ~is_ped
    intensity = None
    cog = {}
    for t, r in rows.items():
        q = np.full(len(obs), np.nan)
        q[r >= 0] = params[t]["hillas_intensity"][r[r >= 0]]
        intensity = q if intensity is None else np.minimum(intensity, q)
        lon = np.full(len(obs), np.nan)
        lat = np.full(len(obs), np.nan)
        lon[r >= 0] = params[t]["hillas_fov_lon"][r[r >= 0]]
        lat[r >= 0] = params[t]["hillas_fov_lat"][r[r >= 0]]
        cog[t] = (lon[keep], lat[keep])
    if intensity is None:
        intensity = np.full(len(obs), np.nan)
    n_ped = int(np.count_nonzero(is_ped & present))
    ped_ok = int(np.count_nonzero(is_ped & present & (np.nan_to_num(intensity) > 0)))
    run = RunEvents(
        path=info.path,
        obs_id=obs_id,
        tel_setup=info.tel_setup,
        tel_ids=list(info.tel_ids),
        time=time[keep],
        intensity=intensity[keep],
        cog=cog,
        n_rows=n_rows,
        n_pedestal=n_ped,
        n_pedestal_surviving=ped_ok,
        pointing_radec=radec.get(obs_id),
        is_simulation=info.is_simulation,
    )
    order = np.argsort(run.time, kind="stable")
    if matching:
        sel = (matching["obs_id"] == obs_id) & matching["is_stereo"].astype(bool)
        run.delta_t_ns = matching["delta_t"][sel].astype(float)
    if "class" in dl2:
        o, e, g = dl2["class"]
        r = _lookup(o, e, obs[keep], evt[keep])
        run.gammaness = np.where(r >= 0, g[np.clip(r, 0, None)], np.nan)[order]
    if "sky" in dl2:
        o, e, ra, dec = dl2["sky"]
        r = _lookup(o, e, obs[keep], evt[keep])
        run.ra = np.where(r >= 0, ra[np.clip(r, 0, None)], np.nan)[order]
        run.dec = np.where(r >= 0, dec[np.clip(r, 0, None)], np.nan)[order]
    run.time = run.time[order]
    run.intensity = run.intensity[order]
    run.cog = {t: (lon[order], lat[order]) for t, (lon, lat) in run.cog.items()}
    return run

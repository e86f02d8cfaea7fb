"""What the night summary shows, gathered in one pass over a night's files.

:func:`find_night_files` lists the DL1/DL2 HDF5 files, DL3 FITS files, the nightly manifest
and a DQ table below a night directory; :class:`NightAccumulator` reads the DL1/DL2 files one
at a time and keeps only small aggregates per target and telescope setup (rates in time bins,
NSB and zenith samples, intensity histograms per wobble, centre-of-gravity maps, Δt
histograms, θ² counts, one DQ row per run), so memory does not grow with the night.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from ctapipe.io import read_table

from ..core.errors import SST1MInputError
from ..io.datamodel import PEDESTAL_MONITORING_GROUP, tel_path
from ..simulation.catalogue import read_catalogue
from .dq import add_moon, fill_missing, strip_private
from .events import STEREO, inspect_file, iter_run_events
from .theta2 import theta2_counts

__all__ = [
    "NightAccumulator",
    "NightFiles",
    "SetupSummary",
    "find_night_files",
    "read_manifest",
    "read_source_catalog",
]

_SETUP_DIRS = {"cs1", "cs2", "stereo", "tel_021", "tel_022"}
_LEVEL_DIRS = {"dl1", "dl2", "dl3", "distributions", "dl3_eff"}
INTENSITY_EDGES = np.geomspace(10, 1e5, 41)
COG_EDGES = np.linspace(-5, 5, 101)
DT_EDGES = np.linspace(-1000, 1000, 101)


@dataclass
class NightFiles:
    """Files found below a night directory."""

    hdf5: list = field(default_factory=list)
    dl3: list = field(default_factory=list)
    manifest: Path | None = None
    dq_tables: list = field(default_factory=list)


def _is_dq_table(path):
    try:
        if path.name.endswith(".ecsv"):
            with open(path) as f:
                head = "".join(f.readline() for _ in range(40))
            return "name: good" in head and "name: obs_id" in head
        with fits.open(path) as hdul:
            return len(hdul) > 1 and {"OBS_ID", "GOOD", "FLAGS"} <= {
                c.upper() for c in getattr(hdul[1], "columns", fits.ColDefs([])).names
            }
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _is_dl3(path):
    try:
        with fits.open(path) as hdul:
            return "EVENTS" in hdul
    except (OSError, ValueError):
        return False


def find_night_files(night_dir):
    """`NightFiles` below ``night_dir`` (recursive, sorted)."""
    night_dir = Path(night_dir)
    if not night_dir.is_dir():
        raise SST1MInputError(f"{night_dir}: not a directory; give the night's directory")
    found = NightFiles()
    for path in sorted(p for p in night_dir.rglob("*") if p.is_file()):
        name = path.name
        if name.startswith("."):
            continue
        if name.endswith((".h5", ".hdf5")):
            found.hdf5.append(path)
        elif name == "manifest.json" or (name.endswith(".json") and "manifest" in name):
            found.manifest = found.manifest or path
        elif name.endswith(".ecsv") and _is_dq_table(path):
            found.dq_tables.append(path)
        elif name.endswith((".fits", ".fits.gz")):
            if _is_dl3(path):
                found.dl3.append(path)
            elif _is_dq_table(path):
                found.dq_tables.append(path)
    return found


def read_manifest(path):
    """Task rows (key, stage, status, exit_code, log, message) of a nightly manifest.

    Read defensively: JSON with a ``tasks`` list (or a list, or a ``{key: entry}`` mapping),
    plus the ``<manifest>.journal.jsonl`` lines written since the last rewrite. Returns
    ``(rows, problem)``; ``problem`` is a one-line text when the file could not be read.
    """
    if path is None:
        return [], "no manifest"
    tasks = {}
    problem = ""
    try:
        content = json.loads(Path(path).read_text())
        entries = content.get("tasks", content) if isinstance(content, dict) else content
        if isinstance(entries, dict):
            entries = [
                dict(v, key=k) if isinstance(v, dict) else {"key": k} for k, v in entries.items()
            ]
        for k, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                tasks[str(entry.get("key", k))] = entry
    except (OSError, ValueError, AttributeError) as err:
        problem = f"{path}: unreadable manifest ({err})"
    journal = Path(str(path) + ".journal.jsonl")
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                tasks[str(entry.get("key", len(tasks)))] = entry
    rows = [
        {
            "key": str(e.get("key", k)),
            "stage": str(e.get("stage", "")),
            "status": str(e.get("status", "?")),
            "exit_code": e.get("exit_code"),
            "log": str(e.get("log", "") or ""),
            "message": str(e.get("message", "") or ""),
        }
        for k, e in tasks.items()
    ]
    return rows, problem


def read_source_catalog(path=None):
    """{name: SkyCoord}: a JSON catalogue (``{name: {frame: icrs, ra, dec}}`` or
    ``{frame: galactic, l, b}``, the sst1mpipe ``--source-catalog``), an ECSV table with
    name/ra/dec, or (None) the packaged catalogue."""
    if path is None:
        table = read_catalogue()
        return {str(r["name"]): SkyCoord(r["ra"] * u.deg, r["dec"] * u.deg) for r in table}
    path = Path(path)
    try:
        if path.name.endswith(".json"):
            content = json.loads(path.read_text())
            out = {}
            for name, entry in content.items():
                if str(entry.get("frame", "icrs")).lower() == "galactic":
                    coord = SkyCoord(l=entry["l"] * u.deg, b=entry["b"] * u.deg, frame="galactic")
                    out[name] = coord.icrs
                else:
                    out[name] = SkyCoord(entry["ra"] * u.deg, entry["dec"] * u.deg)
            return out
        table = Table.read(path)
        return {str(r["name"]): SkyCoord(r["ra"] * u.deg, r["dec"] * u.deg) for r in table}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SST1MInputError(
            f"{path}: unreadable source catalogue ({err}); JSON {{name: {{frame, ra, dec}}}}"
            " or an ECSV table with name, ra, dec"
        ) from None


@dataclass
class SetupSummary:
    """Aggregates of one target and telescope setup."""

    tel_setup: str
    rate_time: list = field(default_factory=list)  # (t_mid, DL1 rate, DL2 rate) per bin
    zenith_time: list = field(default_factory=list)  # (t, zenith)
    nsb_time: dict = field(default_factory=lambda: defaultdict(list))  # tel -> (t, level)
    intensity: dict = field(default_factory=dict)  # wobble -> [counts, livetime, zenith sum, n]
    cog: dict = field(default_factory=dict)  # tel -> 2D counts
    cog_gamma: dict = field(default_factory=dict)
    dt_hist: np.ndarray = field(default_factory=lambda: np.zeros(len(DT_EDGES) - 1))
    dt_time: list = field(default_factory=list)  # (t, median, spread)
    moon_time: list = field(default_factory=list)  # (t, alt, sep, illumination)
    theta2: object = None
    n_files: int = 0
    n_runs: int = 0


def _wobble_key(radec):
    return "?" if radec is None else f"{radec[0]:.2f}{radec[1]:+.2f}"


class NightAccumulator:
    """One pass over a night's DL1/DL2 files (see the module docstring)."""

    def __init__(self, maker, catalog, time_bin=10.0, gammaness_cut=0.7, log=None):
        self.maker = maker
        self.catalog = catalog
        self.time_bin = float(time_bin)
        self.gammaness_cut = float(gammaness_cut)
        self.log = log
        self.targets = defaultdict(dict)  # target -> setup -> SetupSummary
        self.target_coord = {}
        self._rows = {}
        self._with_dt = set()
        self.skipped = []

    @property
    def rows(self):
        """The DQ rows (one per run and setup)."""
        return list(self._rows.values())

    # ------------------------------------------------------------------ targets
    def target_of(self, path, radec):
        """Target name: the directory above cs1/cs2/stereo (nightly layout), else the
        catalogue source nearest to the pointing (within 2°), else ``unknown``."""
        parts = [p.lower() for p in path.parts]
        for k in range(len(parts) - 1, 0, -1):
            if parts[k] in _SETUP_DIRS and parts[k - 1] not in _LEVEL_DIRS:
                name = path.parts[k - 1]
                for cat in self.catalog:
                    if cat.replace(" ", "").lower() == name.replace(" ", "").lower():
                        return cat
                return name
        if radec is not None and self.catalog:
            pointing = SkyCoord(radec[0] * u.deg, radec[1] * u.deg)
            names = list(self.catalog)
            seps = [pointing.separation(self.catalog[n]).deg for n in names]
            k = int(np.argmin(seps))
            if seps[k] < 2.0:
                return names[k]
        return "unknown"

    def _setup(self, target, tel_setup):
        if tel_setup not in self.targets[target]:
            summary = SetupSummary(tel_setup)
            summary.theta2 = theta2_counts()
            self.targets[target][tel_setup] = summary
        return self.targets[target][tel_setup]

    # ------------------------------------------------------------------ files
    def add_files(self, paths, location_of):
        """Read DL1/DL2 files (observed data), DL2 files first (they win over the DL1 file of
        the same run); unreadable or simulated files are listed in ``skipped``."""
        infos = []
        for path in paths:
            try:
                info = inspect_file(path)
            except SST1MInputError as err:
                self.skipped.append((path, str(err)))
                continue
            if info.is_simulation:
                self.skipped.append((path, "simulated events"))
                continue
            infos.append(info)
        for info in sorted(infos, key=lambda i: not i.has_dl2):
            self._add_file(info, location_of)

    def _add_file(self, info, location_of):
        path = info.path
        location = location_of(path)
        try:
            for run in iter_run_events(info):
                self.add_run(run, location)
        except (SST1MInputError, OSError, KeyError, ValueError, tables.NoSuchNodeError) as err:
            self.skipped.append((path, f"unreadable ({err})"))

    def add_run(self, run, location):
        """Aggregate one `~.events.RunEvents`; a run and setup seen before (its DL2 file was
        read first) only fills what was missing (the stereo-matching Δt)."""
        target = self.target_of(run.path, run.pointing_radec)
        summary = self._setup(target, run.tel_setup)
        row = self.maker.row(run)
        row["target"] = target
        row["_location"] = location
        key = (run.obs_id, run.tel_setup)
        has_dt = run.delta_t_ns is not None and len(run.delta_t_ns) > 0
        if key in self._rows:
            fill_missing(self._rows[key], row)
            if has_dt and key not in self._with_dt:
                self._add_dt(summary, run, row)
                self._with_dt.add(key)
            return
        self._rows[key] = row
        summary.n_runs += 1
        if has_dt:
            self._with_dt.add(key)
        if run.n_events == 0:
            return
        t = run.time
        edges = np.arange(t[0], t[-1] + self.time_bin, self.time_bin)
        if len(edges) < 2:
            edges = np.array([t[0], t[0] + self.time_bin])
        cleaned = np.isfinite(run.intensity) & (run.intensity > 0)
        dl1 = np.histogram(t[cleaned], edges)[0] / self.time_bin
        if run.gammaness is not None:
            dl2 = np.histogram(t[np.isfinite(run.gammaness)], edges)[0] / self.time_bin
        else:
            dl2 = np.full(len(dl1), np.nan)
        mids = 0.5 * (edges[1:] + edges[:-1])
        # the last bin is partial: drop it unless it is the only one
        keep = slice(None, -1) if len(mids) > 1 else slice(None)
        summary.rate_time.extend(zip(mids[keep], dl1[keep], dl2[keep], strict=True))
        mid = 0.5 * (t[0] + t[-1])
        zenith = row["zenith"].to_value(u.deg)
        summary.zenith_time.append((mid, zenith))
        for tel_id in run.tel_ids:
            for tt, level in _pedestal_series(run.path, tel_id, t[0], t[-1]):
                summary.nsb_time[tel_id].append((tt, level))
        wobble = _wobble_key(run.pointing_radec)
        live = row["livetime"].to_value(u.s)
        entry = summary.intensity.setdefault(
            wobble, [np.zeros(len(INTENSITY_EDGES) - 1), 0.0, 0.0, 0]
        )
        entry[0] += np.histogram(run.intensity[cleaned], INTENSITY_EDGES)[0]
        entry[1] += live
        entry[2] += zenith if np.isfinite(zenith) else 0.0
        entry[3] += 1
        for tel_id, (lon, lat) in run.cog.items():
            h = np.histogram2d(lon, lat, [COG_EDGES, COG_EDGES])[0]
            summary.cog[tel_id] = summary.cog.get(tel_id, 0) + h
            if run.gammaness is not None:
                g = run.gammaness > self.gammaness_cut
                h = np.histogram2d(lon[g], lat[g], [COG_EDGES, COG_EDGES])[0]
                summary.cog_gamma[tel_id] = summary.cog_gamma.get(tel_id, 0) + h
        if has_dt:
            self._add_dt(summary, run, row)
        coord = self.catalog.get(target)
        if coord is not None and run.ra is not None and run.pointing_radec is not None:
            g = run.gammaness > self.gammaness_cut if run.gammaness is not None else True
            pointing = SkyCoord(run.pointing_radec[0] * u.deg, run.pointing_radec[1] * u.deg)
            summary.theta2.add(run.ra[g], run.dec[g], coord, pointing, live)

    def finish(self):
        """Moon geometry of all runs at once (vectorised), then the rows are final."""
        rows = self.rows
        add_moon(rows, lambda row: row.get("_location"))
        for row in rows:
            summary = self.targets[row["target"]][row["tel_setup"]]
            summary.moon_time.append(
                (
                    row.get("_mid_time", np.nan),
                    row["moon_altitude"].to_value(u.deg),
                    row["moon_separation"].to_value(u.deg),
                    row["moon_illumination"],
                )
            )
            strip_private(row)

    @staticmethod
    def _add_dt(summary, run, row):
        mid = 0.5 * (run.time[0] + run.time[-1]) if run.n_events else np.nan
        summary.dt_hist += np.histogram(run.delta_t_ns, DT_EDGES)[0]
        summary.dt_time.append(
            (mid, row["wr_dt_median"].to_value(u.ns), row["wr_dt_spread"].to_value(u.ns))
        )

    def add_dl3(self, path):
        """θ² from one DL3 file (EVENTS HDU: RA/DEC, RA_PNT/DEC_PNT, LIVETIME, OBJECT)."""
        try:
            with fits.open(path) as hdul:
                header = hdul["EVENTS"].header
                data = hdul["EVENTS"].data
                ra = np.asarray(data["RA"], dtype=float)
                dec = np.asarray(data["DEC"], dtype=float)
            pointing = SkyCoord(header["RA_PNT"] * u.deg, header["DEC_PNT"] * u.deg)
        except (OSError, KeyError, ValueError, TypeError) as err:
            self.skipped.append((path, f"DL3 not usable ({err})"))
            return
        target = str(header.get("OBJECT", "")).strip()
        target = next(
            (
                c
                for c in self.catalog
                if c.replace(" ", "").lower() == target.replace(" ", "").lower()
            ),
            None,
        ) or self.target_of(Path(path), (pointing.ra.deg, pointing.dec.deg))
        coord = self.catalog.get(target)
        if coord is None:
            return
        setup = _dl3_setup(header, path)
        summary = self._setup(target, setup)
        if summary.theta2.source != "DL3":
            summary.theta2 = theta2_counts()
            summary.theta2.source = "DL3"
        summary.theta2.add(ra, dec, coord, pointing, float(header.get("LIVETIME", 0.0)))


def _dl3_setup(header, path):
    tels = str(header.get("TELLIST", "") or header.get("TEL_SETUP", ""))
    ids = [int(t) for t in __import__("re").findall(r"\d+", tels)]
    if len(ids) >= 2:
        return STEREO
    if len(ids) == 1:
        return f"tel_{ids[0]:03d}"
    for name in (STEREO, "tel_021", "tel_022"):
        if name in str(path):
            return name
    return STEREO


def _pedestal_series(path, tel_id, t0, t1):
    """(time, nsb_level) of the valid pedestal-monitoring rows of a run."""
    node = tel_path(PEDESTAL_MONITORING_GROUP, tel_id)
    with tables.open_file(path, "r") as h5:
        if node not in h5.root:
            return []
        table = read_table(h5, node)
    t = table["time"].tai.to_value("unix_tai")
    ok = np.asarray(table["is_valid"], dtype=bool) & (t >= t0 - 1) & (t <= t1 + 1)
    return list(zip(t[ok], np.asarray(table["nsb_level"], dtype=float)[ok], strict=True))

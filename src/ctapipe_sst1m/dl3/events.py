"""Observed DL2 runs for DL3: `SST1MDataDL2Reader` and `read_runs`.

`SST1MDataDL2Reader` is the MC reader of the IRFs (`~ctapipe_sst1m.irf.SST1MDL2EventReader`:
same reconstructor prefixes, quality criteria, multiplicity, chunked reading) on observed data:
no simulation tables (a file that has them is refused), the trigger time of every event
(telescope trigger for mono, subarray trigger for stereo) and the telescope pointing
interpolated at that time from ``/dl0/monitoring/telescope/pointing`` (for stereo: of the first
telescope of the file that has it).

`read_runs` cuts a file into `RunData`, one per ``obs_id`` (a stereo DL1 file of
``sst1m-dl1-stereo`` holds many runs), with what grouping, livetime and the EVENTS HDU need.
"""

import json
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
import tables
from astropy.coordinates import SkyCoord
from astropy.table import QTable, vstack
from ctapipe.io import read_table

from ..core.errors import SST1MInputError
from ..io.datamodel import (
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_TRIGGER_TABLE,
    DL2_MODELS_TABLE,
    OBSERVATION_BLOCK_TABLE,
    SIMULATION_RUN_TABLE,
)
from ..io.pointing_tables import read_telescope_pointing
from ..irf.events import SST1MDL2EventReader
from .timesys import high_res_to_dl3_seconds, to_dl3_seconds

__all__ = ["RunData", "SST1MDataDL2Reader", "file_tel_setup", "read_runs"]


class SST1MDataDL2Reader(SST1MDL2EventReader):
    """Read observed DL2 events of one telescope setup (see the module docstring)."""

    simulated = False

    def __init__(self, path, tel_setup, config=None, parent=None, **kwargs):
        with tables.open_file(path) as h5:
            if SIMULATION_RUN_TABLE in h5 or "/simulation" in h5:
                raise SST1MInputError(
                    f"{path}: simulated DL2 (it has /simulation); sst1m-dl2-dl3 takes observed"
                    " data (MC DL2 goes to sst1m-make-irfs)"
                )
        super().__init__(path, tel_setup, config=config, parent=parent, **kwargs)
        tel_ids = [self.tel_id] if self.tel_id is not None else sorted(self.subarray.tel)
        self.pointing = None
        for tel_id in tel_ids:
            pointing = read_telescope_pointing(path, tel_id)
            if pointing is not None and pointing.kind == "monitoring":
                self.pointing = pointing
                break
        if self.pointing is None:
            raise SST1MInputError(
                f"{path}: no telescope pointing (/dl0/monitoring/telescope/pointing/tel_0XX of"
                f" tel {tel_ids}); make the DL1 with sst1m-r0-dl1 or sst1m-simulate-night"
            )

    def _aligned_tables(self, h5):
        paths = super()._aligned_tables(h5)
        return None if paths is None else [*paths, DL1_SUBARRAY_TRIGGER_TABLE]

    def _add_pointing(self, table):
        """Observed data: the pointing comes from the tracking table (`_derived`)."""

    def _derived(self, events):
        time = events["time_mono" if self.tel_id is not None else "time"]
        out = QTable()
        out["obs_id"] = np.asarray(events["obs_id"], dtype=np.int64)
        out["event_id"] = np.asarray(events["event_id"], dtype=np.int64)
        out["time"] = to_dl3_seconds(time) if len(events) else np.zeros(0)
        for name, column in self.columns.items():
            unit = u.TeV if name == "reco_energy" else u.deg
            values = events[column]
            out[name] = (
                np.asarray(values, dtype=float)
                if name == "gh_score"
                else u.Quantity(values).to_value(unit)
            )
        if len(events):
            alt, az = self.pointing.at(time, clip=True)
            out["pointing_alt"], out["pointing_az"] = alt.to_value(u.deg), az.to_value(u.deg)
        else:
            out["pointing_alt"] = out["pointing_az"] = np.zeros(0)
        out["multiplicity"] = self._multiplicity(events)
        return out


@dataclass
class RunData:
    """One observed run of one telescope setup, as DL3 needs it.

    Times are DL3 seconds (`~ctapipe_sst1m.dl3.timesys`); angles in degrees.
    """

    obs_id: int
    tel_setup: str
    path: str
    tel_ids: list
    wobble: SkyCoord
    start: float
    stop: float
    trigger_times: np.ndarray
    events: QTable
    model_node: str
    model_hashes: dict
    location: object
    pointing: dict = field(default_factory=dict)
    n_read: int = 0

    @property
    def duration(self):
        """Length of the run's time interval [s]."""
        return self.stop - self.start


def file_tel_setup(path):
    """Telescope setup of a DL2 file: ``stereo`` or the one telescope of a mono file, or None."""
    with tables.open_file(path) as h5:
        mode = None
        if DL2_MODELS_TABLE in h5:
            mode = read_table(h5, DL2_MODELS_TABLE).meta.get("mode")
        trig = (
            h5.get_node(DL1_TEL_TRIGGER_TABLE).col("tel_id") if DL1_TEL_TRIGGER_TABLE in h5 else []
        )
    if mode == "stereo":
        return "stereo"
    tel_ids = sorted({int(t) for t in np.unique(trig)})
    if len(tel_ids) == 1:
        return f"tel_{tel_ids[0]:03d}"
    return None


def _trigger_times(h5, tel_id):
    """{obs_id: sorted trigger times [DL3 s]} of the setup's event stream (every event read)."""
    if tel_id is None:
        table = h5.get_node(DL1_SUBARRAY_TRIGGER_TABLE)
        obs, raw = table.col("obs_id"), table.col("time")
    else:
        table = h5.get_node(DL1_TEL_TRIGGER_TABLE)
        mask = table.col("tel_id") == tel_id
        obs, raw = table.col("obs_id")[mask], table.col("time")[mask]
    seconds = high_res_to_dl3_seconds(raw)
    return {int(o): np.sort(seconds[obs == o]) for o in np.unique(obs)}


def _model_node(h5, path):
    if DL2_MODELS_TABLE not in h5:
        raise SST1MInputError(f"{path}: no {DL2_MODELS_TABLE}; make the DL2 with sst1m-dl1-dl2")
    table = read_table(h5, DL2_MODELS_TABLE)
    node = json.loads(table.meta.get("node", "{}") or "{}")
    hashes = {str(r["kind"]): str(r["sha256"]) for r in table}
    return json.dumps(node, sort_keys=True), hashes


def _location(subarray, tel_id):
    if tel_id is None:
        return subarray.reference_location
    return subarray.tel_earth_locations[tel_id]


def read_runs(path, tel_setup, parent=None):
    """`RunData` of every run (obs_id) in the observed DL2 file ``path``.

    Run interval: from the observation block's ``actual_start_time`` (or the first trigger if
    that is later or unknown) to ``actual_start_time + actual_duration`` when the duration is
    recorded, else to the last trigger plus the run's mean trigger interval (the expected wait
    of a Poisson stream after its last event). Every event lies inside it.
    """
    reader = SST1MDataDL2Reader(path, tel_setup, parent=parent)
    parts, n_read = [], 0
    for n, chunk in reader:
        parts.append(chunk)
        n_read += n
    events = vstack(parts) if len(parts) > 1 else parts[0]
    with tables.open_file(path) as h5:
        triggers = _trigger_times(h5, reader.tel_id)
        node, hashes = _model_node(h5, path)
    block = QTable(read_table(path, OBSERVATION_BLOCK_TABLE))
    location = _location(reader.subarray, reader.tel_id)
    tel_ids = [reader.tel_id] if reader.tel_id is not None else sorted(reader.subarray.tel)
    ptime = to_dl3_seconds(reader.pointing.table["time"])
    palt = u.Quantity(reader.pointing.table["altitude"]).to_value(u.deg)
    paz = u.Quantity(reader.pointing.table["azimuth"]).to_value(u.deg)
    runs = []
    for row in block:
        obs_id = int(row["obs_id"])
        times = triggers.get(obs_id, np.zeros(0))
        if len(times) == 0:
            continue
        if int(row["subarray_pointing_frame"]) != 1:  # CoordinateFrameType.ICRS
            raise SST1MInputError(
                f"{path}: observation block {obs_id} has no ICRS (RA/Dec) pointing; is it data?"
            )
        wobble = SkyCoord(
            u.Quantity(row["subarray_pointing_lon"]).to(u.deg),
            u.Quantity(row["subarray_pointing_lat"]).to(u.deg),
            frame="icrs",
        )
        start, stop = _run_interval(row, times)
        in_run = (ptime >= start - 1.0) & (ptime <= stop + 1.0)
        runs.append(
            RunData(
                obs_id=obs_id,
                tel_setup=tel_setup,
                path=str(path),
                tel_ids=tel_ids,
                wobble=wobble,
                start=start,
                stop=stop,
                trigger_times=times,
                events=events[events["obs_id"] == obs_id],
                model_node=node,
                model_hashes=hashes,
                location=location,
                pointing={"time": ptime[in_run], "alt": palt[in_run], "az": paz[in_run]},
                n_read=int(np.count_nonzero(events["obs_id"] == obs_id)) if n_read else 0,
            )
        )
    return runs


def _run_interval(row, times):
    first, last = float(times[0]), float(times[-1])
    start = first
    actual = row["actual_start_time"]
    if hasattr(actual, "tai"):
        candidate = float(to_dl3_seconds(actual))
        if np.isfinite(candidate) and candidate <= first:
            start = candidate
    duration = row["actual_duration"]
    duration = u.Quantity(duration, u.min).to_value(u.s) if duration is not None else np.nan
    if np.isfinite(duration) and start + duration >= last:
        return start, start + duration
    mean_gap = (last - first) / (len(times) - 1) if len(times) > 1 else 0.0
    return start, last + mean_gap

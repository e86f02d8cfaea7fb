"""Read single-telescope DL1 files and write the merged two-telescope (stereo) DL1 file.

The output is a ctapipe DL1 file (data model of the inputs) that stock ``ctapipe-process``
and ``ctapipe-apply-models`` read unchanged. Nodes written (``ctapipe_integration.md`` §2.2):
root ``CTA *`` attributes, the merged subarray, ``/configuration/observation/*``,
``/dl1/event/subarray/trigger`` (both telescopes in ``tels_with_trigger``),
``/dl1/event/telescope/trigger`` (ordered by subarray event then ``tel_id``), parameters and
images per telescope, the pointing (``/dl0/monitoring/telescope/pointing`` or the fixed
``/configuration/telescope/pointing``), the two-telescope ``HillasReconstructor`` geometry and
impact distances, and the matching record under ``/dl1/service/stereo_matching``.

Existing ctapipe tables are re-written with the column attributes of the input node (units,
time format, enums); the new tables (subarray trigger, geometry, impact, matching record) go
through ctapipe's ``write_table`` (ctapipe time format, units) with the column descriptions of
ctapipe's containers and its ``tel_list_to_mask``/``enum`` transforms, so nothing of the data
model is re-implemented here. Node paths come from :mod:`ctapipe_sst1m.io.datamodel`.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.table import QTable, Table, vstack
from ctapipe.containers import (
    EventIndexContainer,
    EventType,
    ReconstructedGeometryContainer,
    TelescopeImpactParameterContainer,
    TelEventIndexContainer,
    TriggerContainer,
)
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import read_table, write_table
from ctapipe.io.tableio import EnumColumnTransform, TelListToMaskTransform

from ..core import SST1MInputError, expand_input_paths
from ..io.clock import tai_ns_to_time
from ..io.datamodel import (
    DL0_TEL_POINTING_GROUP,
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_IMAGES_GROUP,
    DL1_TEL_PARAMETERS_GROUP,
    DL1_TEL_TRIGGER_TABLE,
    DL2_SUBARRAY_GEOMETRY_GROUP,
    DL2_TEL_IMPACT_GROUP,
    FIXED_POINTING_GROUP,
    OBSERVATION_BLOCK_TABLE,
    SCHEDULING_BLOCK_TABLE,
    STEREO_MATCHING_TABLE,
    tel_node,
    tel_path,
)
from ..io.pointing_tables import TelescopePointing, read_telescope_pointing
from .geometry import PREFIX, TableHillasReconstructor
from .timestamps import time_to_ns

__all__ = [
    "StereoEvents",
    "StereoInputError",
    "TelescopeDL1",
    "expand_paths",
    "read_parameters",
    "read_telescope_dl1",
    "write_stereo_file",
]


class StereoInputError(SST1MInputError):
    """An input cannot be used for stereo matching (message names the file and the fix)."""


def expand_paths(patterns):
    """Files from a list of files, directories (``*.h5`` inside) and glob patterns, sorted."""
    try:
        return sorted(expand_input_paths(patterns, patterns=("*.h5",)))
    except FileNotFoundError as err:
        raise StereoInputError(f"{err}: give files, a directory of *.h5 files or a glob") from None


@dataclass
class TelescopeDL1:
    """The per-telescope content of one single-telescope DL1 file."""

    path: Path
    tel_id: int
    subarray: SubarrayDescription
    trigger: Table
    #: row of the parameters (and images) node for every trigger row
    rows: np.ndarray
    #: row of the telescope-trigger node for every trigger row
    trigger_rows: np.ndarray
    time_ns: np.ndarray
    has_images: bool
    pointing: TelescopePointing

    @property
    def obs_ids(self):
        """Observation ids in this file."""
        return np.unique(np.asarray(self.trigger["obs_id"]))

    def pointing_at(self, time_ns):
        """Telescope pointing (alt, az) at the given times (interpolated or fixed)."""
        alt, az = self.pointing.at(tai_ns_to_time(np.atleast_1d(time_ns)), clip=True)
        return (alt[0], az[0]) if np.ndim(time_ns) == 0 else (alt, az)


def read_telescope_dl1(path):
    """Read the trigger times, row map and pointing of a single-telescope DL1 file."""
    path = Path(path)
    try:
        h5 = tables.open_file(path, "r")
    except Exception as err:
        raise StereoInputError(f"{path}: not a readable HDF5 file ({err})") from None
    with h5:
        if DL1_TEL_PARAMETERS_GROUP not in h5:
            raise StereoInputError(
                f"{path}: no {DL1_TEL_PARAMETERS_GROUP}; give DL1 files (sst1m-r0-dl1)"
            )
        group = h5.get_node(DL1_TEL_PARAMETERS_GROUP)
        tel_nodes = [n._v_name for n in group._f_iter_nodes("Table")]
        if len(tel_nodes) != 1:
            raise StereoInputError(
                f"{path}: holds {len(tel_nodes)} telescopes ({', '.join(tel_nodes)}); "
                "give single-telescope DL1 files"
            )
        tel_id = int(tel_nodes[0].split("_")[1])
        if DL1_TEL_TRIGGER_TABLE not in h5:
            raise StereoInputError(
                f"{path}: no {DL1_TEL_TRIGGER_TABLE} (trigger times) in this DL1 file"
            )
        parameters = h5.get_node(tel_path(DL1_TEL_PARAMETERS_GROUP, tel_id))
        param_keys = parameters.read(field="event_id")
        param_obs = parameters.read(field="obs_id")
        has_images = tel_path(DL1_TEL_IMAGES_GROUP, tel_id) in h5
        pointing = read_telescope_pointing(h5, tel_id)
        has_obs = OBSERVATION_BLOCK_TABLE in h5
    if not has_obs:
        raise StereoInputError(f"{path}: no {OBSERVATION_BLOCK_TABLE}; not a ctapipe file")
    if pointing is None:
        raise StereoInputError(
            f"{path}: no telescope pointing ({DL0_TEL_POINTING_GROUP} or "
            f"{FIXED_POINTING_GROUP}); re-run the DL1 step with pointing information"
        )
    trigger = read_table(path, DL1_TEL_TRIGGER_TABLE)
    trigger_rows = np.nonzero(np.asarray(trigger["tel_id"]) == tel_id)[0]
    trigger = trigger[trigger_rows]
    # map each trigger row to its parameter row via (obs_id, event_id)
    key_p = param_obs.astype(np.int64) * (1 << 40) + param_keys.astype(np.int64)
    key_t = np.asarray(trigger["obs_id"], np.int64) * (1 << 40) + np.asarray(
        trigger["event_id"], np.int64
    )
    order = np.argsort(key_p)
    pos = np.clip(np.searchsorted(key_p[order], key_t), 0, max(len(key_p) - 1, 0))
    has_params = (len(key_p) > 0) & (key_p[order][pos] == key_t)
    trigger = trigger[has_params]
    trigger_rows = trigger_rows[has_params]
    rows = order[pos][has_params]
    if len(trigger) == 0:
        raise StereoInputError(f"{path}: no telescope events with parameters")
    time_ns = time_to_ns(trigger["time"])
    return TelescopeDL1(
        path=path,
        tel_id=tel_id,
        subarray=SubarrayDescription.from_hdf(path),
        trigger=trigger,
        rows=rows,
        trigger_rows=trigger_rows,
        time_ns=np.atleast_1d(time_ns),
        has_images=has_images,
        pointing=pointing,
    )


def read_parameters(tel, rows=None):
    """Parameter table rows (all or ``rows``) of a :class:`TelescopeDL1`."""
    table = read_table(tel.path, tel_path(DL1_TEL_PARAMETERS_GROUP, tel.tel_id))
    return table[tel.rows if rows is None else rows]


def merged_subarray(subarrays, tel_ids, name=None):
    """One ``SubarrayDescription`` with the given telescopes of several single-tel subarrays."""
    reference = subarrays[0].reference_location
    positions, descriptions = {}, {}
    for sub, tel_id in zip(subarrays, tel_ids, strict=True):
        loc = sub.reference_location
        if np.hypot(*(u.Quantity(loc.geocentric) - u.Quantity(reference.geocentric))[:2]) > 1 * u.m:
            raise StereoInputError(
                f"telescope {tel_id}: array reference location differs from telescope "
                f"{tel_ids[0]}'s; produce both DL1 files with the same SST1MArrayLayout"
            )
        positions[tel_id] = sub.positions[tel_id]
        descriptions[tel_id] = sub.tel[tel_id]
    return SubarrayDescription(
        name=name or subarrays[0].name,
        tel_positions=positions,
        tel_descriptions=descriptions,
        reference_location=reference,
    )


def _copy_attrs(src, dst):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tables.NaturalNameWarning)
        for key in src._v_attrs._f_list("user"):
            dst._v_attrs[key] = src._v_attrs[key]


def _write_rows(h5, src_node, path, rows):
    """Create ``path`` with the rows (structured array) and the column attributes of src."""
    where, name = path.rsplit("/", 1)
    table = h5.create_table(where, name, obj=rows, createparents=True)
    _copy_attrs(src_node, table)
    return table


@dataclass
class StereoEvents:
    """Subarray events of one output observation: which row of which input, per telescope."""

    obs_id: int
    #: per telescope slot (0, 1): input file index into the file list, row index, or -1
    file_index: np.ndarray  # (n, 2)
    row_index: np.ndarray  # (n, 2) index into TelescopeDL1.trigger
    time_ns: np.ndarray  # (n,) subarray time


def _flatten(observations):
    """The subarray events of all observations as flat arrays (event ids 1, 2, … in order)."""
    obs_id = np.concatenate([np.full(len(o.time_ns), o.obs_id, np.int64) for o in observations])
    return _Events(
        obs_id=obs_id,
        event_id=np.arange(1, len(obs_id) + 1, dtype=np.int64),
        time_ns=np.concatenate([o.time_ns for o in observations]).astype(np.int64),
        file_index=np.concatenate([o.file_index for o in observations]).reshape(-1, 2),
        row_index=np.concatenate([o.row_index for o in observations]).reshape(-1, 2),
    )


@dataclass
class _Events:
    obs_id: np.ndarray
    event_id: np.ndarray
    time_ns: np.ndarray
    file_index: np.ndarray  # (n, 2), -1 where the telescope is absent
    row_index: np.ndarray  # (n, 2)


class _Gather:
    """Rows of the input nodes for the events of one telescope slot, in event order."""

    def __init__(self, runs, events, slot):
        self.runs = runs
        present = events.file_index[:, slot] >= 0
        self.events = np.nonzero(present)[0]  # positions in the flat event list
        files = events.file_index[self.events, slot]
        order = np.argsort(files, kind="stable")
        # per input file: which of self.events it holds (event order kept inside each file)
        self.parts = []
        for index in np.unique(files):
            sel = order[files[order] == index]
            self.parts.append((int(index), sel, events.row_index[self.events[sel], slot]))
        back = np.argsort(np.concatenate([p[1] for p in self.parts]), kind="stable")
        # None: the files already give the events in order (one input file per slot)
        self._back = None if np.array_equal(back, np.arange(len(back))) else back

    def _ordered(self, pieces):
        merged = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return merged if self._back is None else merged[self._back]

    def rows(self, node_path, which):
        """Structured rows of ``node_path`` (``which``: 'trigger' or 'event' row map)."""
        pieces = []
        for index, _, rows in self.parts:
            run = self.runs[index]
            with tables.open_file(run.path) as h5:
                data = h5.get_node(node_path).read()
            mapping = run.trigger_rows if which == "trigger" else run.rows
            pieces.append(data[mapping[rows]])
        return self._ordered(pieces)

    def column(self, values):
        """A per-run array (indexed by trigger row) gathered for the events, in event order."""
        return self._ordered([values(self.runs[i])[rows] for i, _, rows in self.parts])


def _rekey(rows, events, positions):
    rows["obs_id"] = events.obs_id[positions]
    rows["event_id"] = events.event_id[positions]
    return rows


def write_stereo_file(output, files, tel_ids, observations, diagnostics, reco_config=None):
    """Write the merged stereo DL1 file to ``output`` (callers make it atomic).

    Parameters
    ----------
    output : path
    files : list of (TelescopeDL1 list for slot 0, TelescopeDL1 list for slot 1)
    tel_ids : (int, int)
    observations : list of StereoEvents, one per output obs_id
    diagnostics : list of (obs_id, MatchDiagnostics)
    reco_config : traitlets Config for :class:`TableHillasReconstructor`
    """
    first = files[0][0]
    subarray = merged_subarray([files[0][0].subarray, files[1][0].subarray], tel_ids)
    subarray.to_hdf(output, overwrite=True)
    with_images = all(f.has_images for slot in files for f in slot)
    events = _flatten(observations)
    slots = [_Gather(files[slot], events, slot) for slot in (0, 1)]

    with tables.open_file(output, "a") as out:
        with tables.open_file(first.path, "r") as src:
            _copy_attrs(src.root, out.root)
        levels = "DL1_IMAGES,DL1_PARAMETERS,DL2" if with_images else "DL1_PARAMETERS,DL2"
        out.root._v_attrs["CTA PRODUCT DATA LEVELS"] = levels
        out.root._v_attrs["CTA PROCESS TYPE"] = "Observation"
        _write_blocks(out, files[0], {o.obs_id for o in observations})

        # telescope trigger rows: ordered by subarray event, then tel_id
        trigger = [
            _rekey(g.rows(DL1_TEL_TRIGGER_TABLE, "trigger"), events, g.events) for g in slots
        ]
        merged = np.concatenate(trigger)
        order = np.lexsort((merged["tel_id"], merged["event_id"]))
        with tables.open_file(first.path) as h5:
            _write_rows(
                out, h5.get_node(DL1_TEL_TRIGGER_TABLE), DL1_TEL_TRIGGER_TABLE, merged[order]
            )
        _write_subarray_trigger(out, subarray, tel_ids, events, slots, trigger)

        groups = [DL1_TEL_PARAMETERS_GROUP] + ([DL1_TEL_IMAGES_GROUP] if with_images else [])
        for tel_id, slot, gather in zip(tel_ids, (0, 1), slots, strict=True):
            with tables.open_file(files[slot][0].path) as h5:
                for group in groups:
                    node = tel_path(group, tel_id)
                    rows = _rekey(gather.rows(node, "event"), events, gather.events)
                    _write_rows(out, h5.get_node(node), node, rows)
            _write_pointing(out, files[slot], tel_id, observations, slot)

        _write_service(out, events, slots, tel_ids, diagnostics)
    _write_geometry(output, subarray, tel_ids, files, events, reco_config)


def _write_blocks(out, runs, obs_ids):
    """Observation and scheduling blocks of the telescope-1 runs of the written obs_ids."""
    for node_path, key in ((OBSERVATION_BLOCK_TABLE, "obs_id"), (SCHEDULING_BLOCK_TABLE, "sb_id")):
        parts = []
        for run in runs:
            with tables.open_file(run.path) as h5:
                data = h5.get_node(node_path).read()
            if node_path == OBSERVATION_BLOCK_TABLE:
                data = data[np.isin(data["obs_id"], list(obs_ids))]
            parts.append(data)
        data = np.concatenate(parts)
        _, first = np.unique(data[key], return_index=True)
        with tables.open_file(runs[0].path) as h5:
            _write_rows(out, h5.get_node(node_path), node_path, data[np.sort(first)])


def _write_table(table, out, path, containers=(), prefix=None, transforms=()):
    """``ctapipe.io.write_table`` with the column attributes ctapipe's table writer adds.

    ``write_table`` stores times in the ctapipe time format and quantities with their unit;
    the field names (``CTAFIELD_i_NAME``, without ``prefix``, which ctapipe's
    ``HDF5TableReader`` maps to container fields), the descriptions of the ``containers``'
    fields and the ``transforms`` (``{column: ctapipe ColumnTransform}``) are added here.
    """
    fields = {}
    for container in containers:
        fields.update(container.fields)
    for pos, column in enumerate(table.colnames):
        name = column
        if prefix is not None and column.startswith(f"{prefix}_"):
            name = column[len(prefix) + 1 :]
        table.meta[f"CTAFIELD_{pos}_NAME"] = name
        if name in fields and fields[name].description:
            table.meta[f"CTAFIELD_{pos}_DESC"] = fields[name].description
        if column in transforms:
            table.meta.update(transforms[column].get_meta(pos))
    write_table(table, out, path)


def _write_subarray_trigger(out, subarray, tel_ids, events, slots, trigger):
    """``/dl1/event/subarray/trigger`` in the layout of ctapipe's ``TriggerContainer``."""
    n = len(events.event_id)
    order_ids = list(subarray.tel_ids)
    mask = np.zeros((n, len(order_ids)), dtype=bool)
    event_type = np.full(n, -1, dtype=np.int64)
    for tel_id, gather in zip(tel_ids, slots, strict=True):
        mask[gather.events, order_ids.index(tel_id)] = True
    # event type of the first telescope where present, else of the second
    for gather, rows in reversed(list(zip(slots, trigger, strict=True))):
        event_type[gather.events] = rows["event_type"]
    table = Table(
        {
            "obs_id": events.obs_id,
            "event_id": events.event_id,
            "time": tai_ns_to_time(events.time_ns),
            "tels_with_trigger": mask,
            "event_type": event_type,
        }
    )
    transforms = {
        "tels_with_trigger": TelListToMaskTransform(subarray),
        "event_type": EnumColumnTransform(EventType),
    }
    containers = (EventIndexContainer, TriggerContainer)
    _write_table(table, out, DL1_SUBARRAY_TRIGGER_TABLE, containers, transforms=transforms)


def _write_pointing(out, tel_files, tel_id, observations, slot):
    if all(f.pointing.kind == "monitoring" for f in tel_files):
        node = tel_path(DL0_TEL_POINTING_GROUP, tel_id)
        parts = []
        for f in tel_files:
            with tables.open_file(f.path) as h5:
                parts.append(h5.get_node(node).read())
        data = np.concatenate(parts)
        key = data["time"][:, 0].astype(np.int64) * 4_000_000_000 + data["time"][:, 1]
        _, first = np.unique(key, return_index=True)
        with tables.open_file(tel_files[0].path) as h5:
            _write_rows(out, h5.get_node(node), node, data[first])
        return
    node = tel_path(FIXED_POINTING_GROUP, tel_id)
    rows = []
    for obs in observations:
        used = obs.file_index[:, slot]
        used = used[used >= 0]
        tel = tel_files[int(used[0])] if len(used) else tel_files[0]
        with tables.open_file(tel.path) as h5:
            data = h5.get_node(node).read()[:1].copy()
        data["obs_id"] = obs.obs_id
        rows.append(data)
    with tables.open_file(tel_files[0].path) as h5:
        _write_rows(out, h5.get_node(node), node, np.concatenate(rows))


def _write_service(out, events, slots, tel_ids, diagnostics):
    """The matching record: per event, per run (summary) and the coincidence profiles."""
    n = len(events.event_id)
    present = events.file_index >= 0
    columns = {
        "obs_id": events.obs_id,
        "event_id": events.event_id,
        "is_stereo": present.all(axis=1),
        "delta_t": np.zeros(n, dtype=np.int64),
    }
    times = []
    for tel_id, gather in zip(tel_ids, slots, strict=True):
        for what in ("obs_id", "event_id"):
            values = np.full(n, -1, dtype=np.int64)
            values[gather.events] = gather.column(lambda run, w=what: np.asarray(run.trigger[w]))
            columns[f"{tel_node(tel_id)}_{what}"] = values
        t = np.zeros(n, dtype=np.int64)
        t[gather.events] = gather.column(lambda run: run.time_ns)
        times.append(t)
    stereo = columns["is_stereo"]
    columns["delta_t"][stereo] = (times[1] - times[0])[stereo]
    columns["delta_t"] = u.Quantity(columns["delta_t"], u.ns, dtype=np.int64)
    _write_table(Table(columns), out, f"{STEREO_MATCHING_TABLE}/events")

    counts = (
        "n_events_1", "n_events_2", "n_pairs", "n_unmatched_1", "n_unmatched_2", "n_ambiguous",
        "n_rejected",
    )  # fmt: skip
    summaries = [(obs_id, diag.summary(), diag.delta_t_ns) for obs_id, diag in diagnostics]
    summary = Table(
        {
            "obs_id": np.array([s[0] for s in summaries], dtype=np.int64),
            "method": np.array([s[1]["method"] for s in summaries], dtype="S24"),
            "offset": u.Quantity([s[1]["offset_ns"] for s in summaries], u.ns, dtype=np.int64),
            **{k: np.array([s[1][k] for s in summaries], dtype=np.int64) for k in counts},
            "pair_half_width": u.Quantity(
                [s[1]["pair_half_width_ns"] for s in summaries], u.ns, dtype=np.int64
            ),
            "delta_t_median": u.Quantity(
                [np.median(dt) if len(dt) else np.nan for *_, dt in summaries], u.ns
            ),
            "delta_t_std": u.Quantity(
                [np.std(dt) if len(dt) else np.nan for *_, dt in summaries], u.ns
            ),
        }
    )
    summary.meta["tel_ids"] = np.array(tel_ids)
    _write_table(summary, out, f"{STEREO_MATCHING_TABLE}/summary")
    profiles = [
        Table(
            {
                "obs_id": np.full(len(diag.profile_counts), obs_id, dtype=np.int64),
                "offset": u.Quantity(diag.profile_offsets_ns, u.ns, dtype=np.int64),
                "n_pairs": np.asarray(diag.profile_counts, dtype=np.int64),
            }
        )
        for obs_id, diag in diagnostics
        if diag.profile_offsets_ns is not None
    ]
    if profiles:
        _write_table(vstack(profiles), out, f"{STEREO_MATCHING_TABLE}/profile")


def _write_geometry(output, subarray, tel_ids, files, events, reco_config):
    """Vectorised HillasReconstructor on the stereo events; DL2 geometry and impact tables."""
    params = {t: read_table(output, tel_path(DL1_TEL_PARAMETERS_GROUP, t)) for t in tel_ids}
    if not all("hillas_fov_lon" in p.colnames for p in params.values()):
        return
    n = len(events.event_id)
    order_ids = list(subarray.tel_ids)
    present = events.file_index >= 0
    stereo = present.all(axis=1)
    # the columns of ctapipe's ReconstructedGeometryContainer, NaN / False where not computed
    columns = {"obs_id": events.obs_id, "event_id": events.event_id}
    for name, field in ReconstructedGeometryContainer.fields.items():
        if name == "is_valid":
            values = np.zeros(n, dtype=bool)
        elif name == "telescopes":
            values = np.zeros((n, len(order_ids)), dtype=bool)
        else:
            values = np.full(n, np.nan)
            values = values if field.unit is None else u.Quantity(values, field.unit)
        columns[f"{PREFIX}_{name}"] = values
    geometry = QTable(columns)
    impacts = {t: np.full(n, np.nan) * u.m for t in tel_ids}
    if stereo.any():
        rows = np.nonzero(stereo)[0]
        tabs = []
        for t, slot in zip(tel_ids, (0, 1), strict=True):
            p = params[t]
            tab = p[np.searchsorted(np.asarray(p["event_id"]), events.event_id[rows])]
            alt, az = _pointing_for(files[slot], events, slot, rows)
            tab["telescope_pointing_altitude"] = alt
            tab["telescope_pointing_azimuth"] = az
            tabs.append(tab)
        result, impact = TableHillasReconstructor(config=reco_config)(subarray, tel_ids, *tabs)
        for name, field in ReconstructedGeometryContainer.fields.items():
            column = f"{PREFIX}_{name}"
            if column in result.colnames:
                values = result[column]
                geometry[column][rows] = values if field.unit is None else values.to(field.unit)
        valid = np.asarray(result[f"{PREFIX}_is_valid"])
        for t in tel_ids:
            geometry[f"{PREFIX}_telescopes"][rows[valid], order_ids.index(t)] = True
            impacts[t][rows] = impact[t]
    _write_table(
        geometry,
        output,
        f"{DL2_SUBARRAY_GEOMETRY_GROUP}/{PREFIX}",
        (EventIndexContainer, ReconstructedGeometryContainer),
        prefix=PREFIX,
        transforms={f"{PREFIX}_telescopes": TelListToMaskTransform(subarray)},
    )
    for slot, t in enumerate(tel_ids):
        has = present[:, slot]
        impact_table = QTable(
            {
                "obs_id": events.obs_id[has],
                "event_id": events.event_id[has],
                "tel_id": np.full(int(has.sum()), t, dtype=np.int16),
                f"{PREFIX}_tel_impact_distance": impacts[t][has],
                f"{PREFIX}_tel_impact_distance_uncert": np.full(int(has.sum()), np.nan) * u.m,
            }
        )
        _write_table(
            impact_table,
            output,
            tel_path(f"{DL2_TEL_IMPACT_GROUP}/{PREFIX}", t),
            (TelEventIndexContainer, TelescopeImpactParameterContainer),
            prefix=f"{PREFIX}_tel_impact",
        )


def _pointing_for(tel_files, events, slot, rows):
    """Pointing of one telescope at the events ``rows`` (from the file each came from)."""
    alt = np.full(len(rows), np.nan)
    az = np.full(len(rows), np.nan)
    files_of = events.file_index[rows, slot]
    for index in np.unique(files_of):
        sel = files_of == index
        a, z = tel_files[int(index)].pointing_at(events.time_ns[rows][sel])
        alt[sel], az[sel] = a.to_value(u.deg), z.to_value(u.deg)
    return alt * u.deg, az * u.deg

"""Read single-telescope DL1 files and write the merged two-telescope (stereo) DL1 file.

The output is a ctapipe DL1 file (data model of the inputs) that stock ``ctapipe-process``
and ``ctapipe-apply-models`` read unchanged. Nodes written (``ctapipe_integration.md`` §2.2):
root ``CTA *`` attributes, the merged subarray, ``/configuration/observation/*``,
``/dl1/event/subarray/trigger`` (both telescopes in ``tels_with_trigger``),
``/dl1/event/telescope/trigger`` (ordered by subarray event then ``tel_id``), parameters and
images per telescope, the pointing (``/dl0/monitoring/telescope/pointing`` or the fixed
``/configuration/telescope/pointing``), the two-telescope ``HillasReconstructor`` geometry and
impact distances, and the matching record under ``/dl1/service/stereo_matching``.

Existing ctapipe tables are re-written row by row with the column attributes of the input
node (units, time format, enums), so nothing of the data model is re-implemented here.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.table import Table
from ctapipe.containers import EventType
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import read_table

from ..core import expand_input_paths
from ..io.datamodel import DL0_TEL_POINTING_GROUP, FIXED_POINTING_GROUP
from ..io.pointing_tables import TelescopePointing, read_telescope_pointing
from .geometry import PREFIX, TableHillasReconstructor
from .timestamps import ns_to_time, time_to_ns

__all__ = [
    "StereoInputError",
    "TelescopeDL1",
    "expand_paths",
    "read_telescope_dl1",
]

PARAMETERS = "/dl1/event/telescope/parameters"
IMAGES = "/dl1/event/telescope/images"
TEL_TRIGGER = "/dl1/event/telescope/trigger"
SUB_TRIGGER = "/dl1/event/subarray/trigger"
DL0_POINTING = DL0_TEL_POINTING_GROUP
FIXED_POINTING = FIXED_POINTING_GROUP
OBSERVATION = "/configuration/observation"
SERVICE = "/dl1/service/stereo_matching"


class StereoInputError(ValueError):
    """An input cannot be used for stereo matching (message names the file and the fix)."""


def expand_paths(patterns):
    """Files from a list of files, directories (``*.h5`` inside) and glob patterns, sorted."""
    try:
        return sorted(expand_input_paths(patterns, patterns=("*.h5",)))
    except FileNotFoundError as err:
        raise StereoInputError(f"{err}: give files, a directory of *.h5 files or a glob") from None


def _tel_node(tel_id):
    return f"tel_{tel_id:03d}"


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
        alt, az = self.pointing.at(ns_to_time(np.atleast_1d(time_ns)), clip=True)
        return (alt[0], az[0]) if np.ndim(time_ns) == 0 else (alt, az)


def read_telescope_dl1(path):
    """Read the trigger times, row map and pointing of a single-telescope DL1 file."""
    path = Path(path)
    try:
        h5 = tables.open_file(path, "r")
    except Exception as err:
        raise StereoInputError(f"{path}: not a readable HDF5 file ({err})") from None
    with h5:
        if PARAMETERS not in h5:
            raise StereoInputError(f"{path}: no {PARAMETERS}; give DL1 files (sst1m-r0-dl1)")
        tel_nodes = [n._v_name for n in h5.get_node(PARAMETERS)._f_iter_nodes("Table")]
        if len(tel_nodes) != 1:
            raise StereoInputError(
                f"{path}: holds {len(tel_nodes)} telescopes ({', '.join(tel_nodes)}); "
                "give single-telescope DL1 files"
            )
        tel_id = int(tel_nodes[0].split("_")[1])
        if TEL_TRIGGER not in h5:
            raise StereoInputError(f"{path}: no {TEL_TRIGGER} (trigger times) in this DL1 file")
        param_keys = h5.get_node(f"{PARAMETERS}/{tel_nodes[0]}").read(field="event_id")
        param_obs = h5.get_node(f"{PARAMETERS}/{tel_nodes[0]}").read(field="obs_id")
        has_images = f"{IMAGES}/{tel_nodes[0]}" in h5
        pointing = read_telescope_pointing(h5, tel_id)
        has_obs = f"{OBSERVATION}/observation_block" in h5
    if not has_obs:
        raise StereoInputError(f"{path}: no {OBSERVATION}/observation_block; not a ctapipe file")
    if pointing is None:
        raise StereoInputError(
            f"{path}: no telescope pointing ({DL0_POINTING} or {FIXED_POINTING}); "
            "re-run the DL1 step with pointing information"
        )
    trigger = read_table(path, TEL_TRIGGER)
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
    table = read_table(tel.path, f"{PARAMETERS}/{_tel_node(tel.tel_id)}")
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


def _write_new_table(h5, path, rows, fields):
    """Create a table with ctapipe column attributes: fields = [(name, transform, unit)]."""
    where, name = path.rsplit("/", 1)
    table = h5.create_table(where, name, obj=rows, createparents=True)
    for i, (column, transform, unit) in enumerate(fields):
        table.attrs[f"CTAFIELD_{i}_NAME"] = column
        if transform:
            table.attrs[f"CTAFIELD_{i}_TRANSFORM"] = transform
        if unit:
            table.attrs[f"CTAFIELD_{i}_UNIT"] = unit
    return table


@dataclass
class StereoEvents:
    """Subarray events of one output observation: which row of which input, per telescope."""

    obs_id: int
    #: per telescope slot (0, 1): input file index into the file list, row index, or -1
    file_index: np.ndarray  # (n, 2)
    row_index: np.ndarray  # (n, 2) index into TelescopeDL1.trigger
    time_ns: np.ndarray  # (n,) subarray time


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
    order_ids = list(subarray.tel_ids)  # ascending
    with_images = all(f.has_images for slot in files for f in slot)
    n_events = sum(len(o.time_ns) for o in observations)

    with tables.open_file(output, "a") as out, tables.open_file(first.path, "r") as src:
        _copy_attrs(src.root, out.root)
        levels = "DL1_IMAGES,DL1_PARAMETERS,DL2" if with_images else "DL1_PARAMETERS,DL2"
        out.root._v_attrs["CTA PRODUCT DATA LEVELS"] = levels
        out.root._v_attrs["CTA PROCESS TYPE"] = "Observation"
        # observation and scheduling blocks of the slot-0 files of the written obs_ids
        wanted = {o.obs_id for o in observations}
        for block, key in (("observation_block", "obs_id"), ("scheduling_block", "sb_id")):
            rows, seen = [], set()
            for f in files[0]:
                with tables.open_file(f.path) as h5:
                    node = h5.get_node(f"{OBSERVATION}/{block}")
                    data = node.read()
                    if block == "observation_block":
                        data = data[np.isin(data["obs_id"], list(wanted))]
                    for row in data:
                        if row[key] not in seen:
                            seen.add(row[key])
                            rows.append(row)
            with tables.open_file(first.path) as h5:
                _write_rows(
                    out,
                    h5.get_node(f"{OBSERVATION}/{block}"),
                    f"{OBSERVATION}/{block}",
                    np.array(rows, dtype=data.dtype),
                )

        sub_rows = []
        tel_rows = {t: [] for t in tel_ids}
        param_rows = {t: [] for t in tel_ids}
        image_rows = {t: [] for t in tel_ids}
        service = []
        event_id = 0
        for obs in observations:
            for k in range(len(obs.time_ns)):
                event_id += 1
                mask = obs.file_index[k] >= 0
                for slot in (0, 1):
                    if not mask[slot]:
                        continue
                    tel = files[slot][obs.file_index[k, slot]]
                    row = obs.row_index[k, slot]
                    tel_rows[tel_ids[slot]].append((obs.obs_id, event_id, slot, tel, row))
                service.append((obs.obs_id, event_id, obs, k))
                sub_rows.append((obs.obs_id, event_id, obs.time_ns[k], mask))

        # telescope trigger rows: ordered by subarray event then tel_id
        all_trigger = []
        for tel_id in tel_ids:
            for obs_id, ev, slot, tel, row in tel_rows[tel_id]:
                all_trigger.append((ev, tel_id, obs_id, slot, tel, row))
        all_trigger.sort(key=lambda x: (x[0], x[1]))

        # read needed input rows file by file
        cache = {}

        def node_rows(tel, node_path):
            key = (tel.path, node_path)
            if key not in cache:
                with tables.open_file(tel.path) as h5:
                    node = h5.get_node(node_path)
                    cache[key] = node.read()
            return cache[key]

        trig_out = []
        for ev, tel_id, obs_id, _slot, tel, row in all_trigger:
            match = node_rows(tel, TEL_TRIGGER)[tel.trigger_rows[row]].copy()
            match["obs_id"], match["event_id"] = obs_id, ev
            trig_out.append(match)
            for base, store in ((PARAMETERS, param_rows), (IMAGES, image_rows)):
                if base == IMAGES and not with_images:
                    continue
                data = node_rows(tel, f"{base}/{_tel_node(tel.tel_id)}")
                r = data[tel.rows[row]].copy()
                r["obs_id"], r["event_id"] = obs_id, ev
                store[tel_id].append(r)

        with tables.open_file(first.path) as h5:
            _write_rows(out, h5.get_node(TEL_TRIGGER), TEL_TRIGGER, np.array(trig_out))
            dtype = [
                ("obs_id", "<i8"),
                ("event_id", "<i8"),
                ("time", "<u4", (2,)),
                ("tels_with_trigger", "?", (len(order_ids),)),
                ("event_type", "<i8"),
            ]
            trig_arr = np.array(trig_out)
            event_type = {
                (int(o), int(e)): int(t)
                for o, e, t in zip(
                    trig_arr["obs_id"], trig_arr["event_id"], trig_arr["event_type"], strict=True
                )
            }
            sub = np.zeros(len(sub_rows), dtype=dtype)
            seconds = np.array([r[2] for r in sub_rows], dtype=np.int64) // 1_000_000_000
            rest = np.array([r[2] for r in sub_rows], dtype=np.int64) % 1_000_000_000
            sub["obs_id"] = [r[0] for r in sub_rows]
            sub["event_id"] = [r[1] for r in sub_rows]
            sub["time"][:, 0] = seconds
            sub["time"][:, 1] = rest * 4
            for i, r in enumerate(sub_rows):
                for slot in (0, 1):
                    if r[3][slot]:
                        sub["tels_with_trigger"][i, order_ids.index(tel_ids[slot])] = True
                sub["event_type"][i] = event_type[(int(r[0]), int(r[1]))]
            table = _write_new_table(
                out,
                SUB_TRIGGER,
                sub,
                [
                    ("obs_id", None, None),
                    ("event_id", None, None),
                    ("time", "time", None),
                    ("tels_with_trigger", "tel_list_to_mask", None),
                    ("event_type", "enum", None),
                ],
            )
            table.attrs["CTAFIELD_2_TIME_FORMAT"] = "ctao_high_res"
            table.attrs["CTAFIELD_2_TIME_SCALE"] = "tai"
            table.attrs["CTAFIELD_4_ENUM"] = EventType

        for tel_id, slot in zip(tel_ids, (0, 1), strict=True):
            tel0 = files[slot][0]
            with tables.open_file(tel0.path) as h5:
                node = f"{PARAMETERS}/{_tel_node(tel_id)}"
                _write_rows(out, h5.get_node(node), node, np.array(param_rows[tel_id]))
                if with_images:
                    node = f"{IMAGES}/{_tel_node(tel_id)}"
                    _write_rows(out, h5.get_node(node), node, np.array(image_rows[tel_id]))
            _write_pointing(out, files[slot], tel_id, observations, slot)

        _write_service(out, service, files, tel_ids, diagnostics)
    _write_geometry(output, subarray, tel_ids, files, observations, n_events, reco_config)


def _write_pointing(out, tel_files, tel_id, observations, slot):
    node = _tel_node(tel_id)
    if all(f.pointing.kind == "monitoring" for f in tel_files):
        parts = []
        for f in tel_files:
            with tables.open_file(f.path) as h5:
                src = h5.get_node(f"{DL0_POINTING}/{node}")
                parts.append(src.read())
        data = np.concatenate(parts)
        key = data["time"][:, 0].astype(np.int64) * 4_000_000_000 + data["time"][:, 1]
        _, first = np.unique(key, return_index=True)
        with tables.open_file(tel_files[0].path) as h5:
            _write_rows(
                out, h5.get_node(f"{DL0_POINTING}/{node}"), f"{DL0_POINTING}/{node}", data[first]
            )
        return
    rows = []
    for obs in observations:
        used = obs.file_index[:, slot]
        used = used[used >= 0]
        tel = tel_files[int(used[0])] if len(used) else tel_files[0]
        with tables.open_file(tel.path) as h5:
            data = h5.get_node(f"{FIXED_POINTING}/{node}").read()[:1].copy()
        data["obs_id"] = obs.obs_id
        rows.append(data)
    with tables.open_file(tel_files[0].path) as h5:
        _write_rows(
            out,
            h5.get_node(f"{FIXED_POINTING}/{node}"),
            f"{FIXED_POINTING}/{node}",
            np.concatenate(rows),
        )


def _write_service(out, service, files, tel_ids, diagnostics):
    n = len(service)
    dtype = [("obs_id", "<i8"), ("event_id", "<i8"), ("is_stereo", "?"), ("delta_t", "<i8")]
    for t in tel_ids:
        dtype += [(f"tel_{t:03d}_obs_id", "<i8"), (f"tel_{t:03d}_event_id", "<i8")]
    rows = np.zeros(n, dtype=dtype)
    for i, (obs_id, ev, obs, k) in enumerate(service):
        rows["obs_id"][i], rows["event_id"][i] = obs_id, ev
        present = obs.file_index[k] >= 0
        rows["is_stereo"][i] = present.all()
        times = []
        for slot, t in enumerate(tel_ids):
            if present[slot]:
                tel = files[slot][obs.file_index[k, slot]]
                row = obs.row_index[k, slot]
                rows[f"tel_{t:03d}_obs_id"][i] = tel.trigger["obs_id"][row]
                rows[f"tel_{t:03d}_event_id"][i] = tel.trigger["event_id"][row]
                times.append(tel.time_ns[row])
            else:
                rows[f"tel_{t:03d}_obs_id"][i] = -1
                rows[f"tel_{t:03d}_event_id"][i] = -1
        rows["delta_t"][i] = times[1] - times[0] if len(times) == 2 else 0
    fields = [
        (name, "quantity" if name == "delta_t" else None, "ns" if name == "delta_t" else None)
        for name, *_ in dtype
    ]
    _write_new_table(out, f"{SERVICE}/events", rows, fields)

    summary_dtype = [
        ("obs_id", "<i8"),
        ("method", "S24"),
        ("offset", "<i8"),
        ("n_events_1", "<i8"),
        ("n_events_2", "<i8"),
        ("n_pairs", "<i8"),
        ("n_unmatched_1", "<i8"),
        ("n_unmatched_2", "<i8"),
        ("n_ambiguous", "<i8"),
        ("n_rejected", "<i8"),
        ("delta_t_median", "<f8"),
        ("delta_t_std", "<f8"),
    ]
    summary = np.zeros(len(diagnostics), dtype=summary_dtype)
    profiles = []
    for i, (obs_id, diag) in enumerate(diagnostics):
        s = diag.summary()
        summary[i]["obs_id"] = obs_id
        summary[i]["method"] = s["method"]
        summary[i]["offset"] = s["offset_ns"]
        for key in (
            "n_events_1",
            "n_events_2",
            "n_pairs",
            "n_unmatched_1",
            "n_unmatched_2",
            "n_ambiguous",
            "n_rejected",
        ):
            summary[i][key] = s[key]
        dt = diag.delta_t_ns
        summary[i]["delta_t_median"] = np.median(dt) if len(dt) else np.nan
        summary[i]["delta_t_std"] = np.std(dt) if len(dt) else np.nan
        if diag.profile_offsets_ns is not None:
            p = np.zeros(
                len(diag.profile_counts),
                dtype=[("obs_id", "<i8"), ("offset", "<i8"), ("n_pairs", "<i8")],
            )
            p["obs_id"], p["offset"], p["n_pairs"] = (
                obs_id,
                diag.profile_offsets_ns,
                diag.profile_counts,
            )
            profiles.append(p)
    ns_fields = {"offset", "delta_t_median", "delta_t_std"}
    _write_new_table(
        out,
        f"{SERVICE}/summary",
        summary,
        [
            (n, "quantity" if n in ns_fields else None, "ns" if n in ns_fields else None)
            for n, *_ in summary_dtype
        ],
    )
    out.get_node(f"{SERVICE}/summary").attrs["tel_ids"] = np.array(tel_ids)
    if profiles:
        _write_new_table(
            out,
            f"{SERVICE}/profile",
            np.concatenate(profiles),
            [("obs_id", None, None), ("offset", "quantity", "ns"), ("n_pairs", None, None)],
        )


_GEOMETRY_FIELDS = [
    ("alt", "deg"), ("alt_uncert", "deg"), ("az", "deg"), ("az_uncert", "deg"),
    ("ang_distance_uncert", "deg"), ("core_x", "m"), ("core_y", "m"), ("core_uncert_x", "m"),
    ("core_uncert_y", "m"), ("core_tilted_x", "m"), ("core_tilted_y", "m"),
    ("core_tilted_uncert_x", "m"), ("core_tilted_uncert_y", "m"), ("h_max", "m"),
    ("h_max_uncert", "m"), ("is_valid", None), ("average_intensity", None),
    ("goodness_of_fit", None), ("telescopes", None),
]  # fmt: skip


def _write_geometry(output, subarray, tel_ids, files, observations, n_events, reco_config):
    """Vectorised HillasReconstructor on the stereo events; DL2 geometry and impact tables."""
    params = {t: read_table(output, f"{PARAMETERS}/{_tel_node(t)}") for t in tel_ids}
    if not all("hillas_fov_lon" in p.colnames for p in params.values()):
        return
    trig = read_table(output, SUB_TRIGGER)
    n_tel = len(subarray.tel_ids)
    geom_dtype = [("obs_id", "<i8"), ("event_id", "<i8")] + [
        (f"{PREFIX}_{name}", "?" if name == "is_valid" else "<f8")
        if name != "telescopes"
        else (f"{PREFIX}_telescopes", "?", (n_tel,))
        for name, _ in _GEOMETRY_FIELDS
    ]
    geom = np.zeros(len(trig), dtype=geom_dtype)
    for name, _ in _GEOMETRY_FIELDS:
        if name not in ("is_valid", "telescopes"):
            geom[f"{PREFIX}_{name}"] = np.nan
    geom["obs_id"], geom["event_id"] = trig["obs_id"], trig["event_id"]
    impacts = {t: np.full(len(trig), np.nan) for t in tel_ids}
    order_ids = list(subarray.tel_ids)
    stereo = np.all([trig["tels_with_trigger"][:, order_ids.index(t)] for t in tel_ids], axis=0)
    if stereo.any():
        keys = [np.asarray(trig["event_id"])[stereo]]
        tabs = []
        for t, slot in zip(tel_ids, (0, 1), strict=True):
            p = params[t]
            idx = np.searchsorted(np.asarray(p["event_id"]), keys[0])
            tab = p[idx]
            times = time_to_ns(trig["time"][stereo])
            alt, az = _pointing_for(
                files[slot], observations, slot, np.asarray(trig["event_id"])[stereo], times
            )
            tab["telescope_pointing_altitude"] = alt
            tab["telescope_pointing_azimuth"] = az
            tabs.append(tab)
        reco = TableHillasReconstructor(config=reco_config)
        result, impact = reco(subarray, tel_ids, *tabs)
        rows = np.nonzero(stereo)[0]
        for name, unit in _GEOMETRY_FIELDS:
            col = f"{PREFIX}_{name}"
            if col in result.colnames:
                values = result[col]
                geom[col][rows] = values.to_value(unit) if unit else np.asarray(values)
        valid = np.asarray(result[f"{PREFIX}_is_valid"])
        for t in tel_ids:
            geom[f"{PREFIX}_telescopes"][rows[valid], order_ids.index(t)] = True
            impacts[t][rows] = impact[t].to_value(u.m)
    with tables.open_file(output, "a") as out:
        fields = [("obs_id", None, None), ("event_id", None, None)] + [
            (
                name,
                "tel_list_to_mask" if name == "telescopes" else ("quantity" if unit else None),
                unit,
            )
            for name, unit in _GEOMETRY_FIELDS
        ]
        _write_new_table(out, f"/dl2/event/subarray/geometry/{PREFIX}", geom, fields)
        for t in tel_ids:
            has = trig["tels_with_trigger"][:, order_ids.index(t)]
            rows = np.zeros(
                int(has.sum()),
                dtype=[
                    ("obs_id", "<i8"),
                    ("event_id", "<i8"),
                    ("tel_id", "<i2"),
                    (f"{PREFIX}_tel_impact_distance", "<f8"),
                    (f"{PREFIX}_tel_impact_distance_uncert", "<f8"),
                ],
            )
            rows["obs_id"], rows["event_id"], rows["tel_id"] = (
                trig["obs_id"][has],
                trig["event_id"][has],
                t,
            )
            rows[f"{PREFIX}_tel_impact_distance"] = impacts[t][has]
            rows[f"{PREFIX}_tel_impact_distance_uncert"] = np.nan
            _write_new_table(
                out,
                f"/dl2/event/telescope/impact/{PREFIX}/{_tel_node(t)}",
                rows,
                [
                    ("obs_id", None, None),
                    ("event_id", None, None),
                    ("tel_id", None, None),
                    ("tel_impact_distance", "quantity", "m"),
                    ("tel_impact_distance_uncert", "quantity", "m"),
                ],
            )


def _pointing_for(tel_files, observations, slot, event_ids, times_ns):
    """Pointing of one telescope at the stereo events (from the file each event came from)."""
    alt = np.full(len(event_ids), np.nan)
    az = np.full(len(event_ids), np.nan)
    start = 0
    ev_to_file = {}
    for obs in observations:
        n = len(obs.time_ns)
        for k in range(n):
            ev_to_file[start + k + 1] = obs.file_index[k, slot]
        start += n
    files_of = np.array([ev_to_file[int(e)] for e in event_ids])
    for index in np.unique(files_of):
        sel = files_of == index
        a, z = tel_files[int(index)].pointing_at(times_ns[sel])
        alt[sel], az[sel] = a.to_value(u.deg), z.to_value(u.deg)
    return alt * u.deg, az * u.deg

"""Table-level DL1→DL2: trained reconstructors applied to large chunks of a ctapipe file.

Stock ``ctapipe-apply-models`` reads every chunk through `~ctapipe.io.TableLoader` (several
astropy joins per telescope, keyed on structured arrays), re-joins the stacked telescope
tables with the trigger table, converts the ``telescopes`` lists event by event and opens the
output file once per written table. On 10⁵ toy events that machinery cost twenty times the
forests' own ``predict`` time. This module does the same work with plain array indexing:

* :class:`DL1ChunkReader` walks the file in chunks of subarray events. ctapipe writes the
  telescope tables in trigger order, so the rows of telescope ``t`` for subarray events
  ``[start, stop)`` are a contiguous block, located with a running count of
  ``tels_with_trigger`` (memory flat in file size). Every block is checked against the
  trigger ids; a file that breaks the ordering is matched by event id instead
  (:func:`match_events`), never silently misaligned.
* :class:`ChunkPredictor` applies the reconstructors to one chunk, telescope by telescope,
  combines them per array event (the combiner sees the telescope rows ordered by event) and
  returns the tables to write, in the ctapipe DL2 layout that `~ctapipe.io.TableLoader` reads.

The per-telescope table holds what the reconstructors can use: the DL1 parameters, every
per-telescope DL2 table already in the file (e.g. the HillasReconstructor impact distance),
every subarray DL2 table (e.g. ``HillasReconstructor_h_max``), the trigger ``time`` and the
telescope pointing (``telescope_pointing_altitude/azimuth``: interpolated monitoring pointing
for observed data, the fixed pointing for simulations) — the columns the stock loader would
give with ``dl1_parameters``, ``dl2`` and ``pointing``.
"""

import itertools
import re
from collections import namedtuple
from functools import partial

import numpy as np
from astropy.table import Column, Table
from astropy.time import Time
from ctapipe.io import read_table
from ctapipe.io.hdf5dataformat import (
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_PARAMETERS_GROUP,
    DL2_SUBARRAY_GROUP,
    DL2_TEL_GROUP,
)
from ctapipe.io.tableio import EnumColumnTransform

from ..compat import column_metadata
from ..io.pointing_tables import read_telescope_pointing
from .combiners import MarsLikeDispCombiner, SST1MMeanCombiner
from .disp import has_stock_disp_prediction, predict_disp_table

__all__ = [
    "Chunk",
    "ChunkPredictor",
    "DL1ChunkReader",
    "columns_used",
    "match_events",
    "telescope_lists_to_mask",
]

#: One chunk of subarray events: the rows [start, stop) of the trigger table, a table of the
#: subarray events (obs_id, event_id, time), one table per telescope with events in it and,
#: per telescope, the row of ``events`` of each of its rows (-1: not in this chunk).
Chunk = namedtuple("Chunk", ["start", "stop", "events", "tel_tables", "event_rows"])

_KEYS = ("obs_id", "event_id")

#: Columns read by the disp reconstructor and the stereo combiners besides the features.
COMBINER_COLUMNS = {
    "obs_id",
    "event_id",
    "tel_id",
    "hillas_intensity",
    "hillas_fov_lon",
    "hillas_fov_lat",
    "hillas_psi",
    "telescope_pointing_altitude",
    "telescope_pointing_azimuth",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def columns_used(reconstructors):
    """Names of the input columns the reconstructors (features, generated features, quality
    cuts) and the stereo combiners read; keeping only these makes every table copy cheap."""
    names = set(COMBINER_COLUMNS)
    for reco in reconstructors:
        names.update(reco.features)
        for _, expression in reco.feature_generator.features:
            names.update(_NAME.findall(expression))
        for _, expression in reco.quality_query.quality_criteria:
            names.update(_NAME.findall(expression))
    return names


def match_events(obs_id, event_id, ref_obs_id, ref_event_id):
    """Row of (``ref_obs_id``, ``ref_event_id``) holding each (obs_id, event_id), or -1.

    Vectorised: one sort and one binary search per observation id present.
    """
    obs_id = np.asarray(obs_id, dtype=np.int64)
    event_id = np.asarray(event_id, dtype=np.int64)
    ref_obs_id = np.asarray(ref_obs_id, dtype=np.int64)
    ref_event_id = np.asarray(ref_event_id, dtype=np.int64)
    result = np.full(len(obs_id), -1, dtype=np.intp)
    for obs in np.unique(obs_id):
        rows = np.flatnonzero(obs_id == obs)
        ref_rows = np.flatnonzero(ref_obs_id == obs)
        if len(ref_rows) == 0:
            continue
        order = np.argsort(ref_event_id[ref_rows], kind="stable")
        sorted_ids = ref_event_id[ref_rows][order]
        pos = np.clip(np.searchsorted(sorted_ids, event_id[rows]), 0, len(sorted_ids) - 1)
        found = sorted_ids[pos] == event_id[rows]
        result[rows[found]] = ref_rows[order[pos[found]]]
    return result


def _ids_equal(table, obs_id, event_id):
    return (
        len(table) == len(obs_id)
        and np.array_equal(np.asarray(table["obs_id"]), obs_id)
        and np.array_equal(np.asarray(table["event_id"]), event_id)
    )


def _column_like(column, data):
    """A plain `~astropy.table.Column` holding ``data`` with the unit and description of
    ``column`` (a Column or a Quantity), without copying ``data``."""
    return Column(
        data,
        unit=getattr(column, "unit", None),
        description=getattr(column.info, "description", None),
        copy=False,
    )


def _take(table, rows):
    """Rows of ``table``; index -1 gives NaN / False / 0, like a left join without partner.

    Column by column with numpy indexing: an astropy row selection builds every column
    through its full machinery, several times slower on the chunk sizes used here.
    """
    rows = np.asarray(rows, dtype=np.intp)
    missing = rows < 0
    any_missing = bool(np.any(missing))
    safe = np.where(missing, 0, rows) if any_missing else rows
    taken = Table()
    for name, column in table.columns.items():
        if isinstance(column, Time):  # no NaN for times: rows without partner get row 0's
            taken.add_column(column[safe], name=name)
            continue
        data = np.asarray(column)
        if len(data) == 0:
            values = np.zeros((len(rows), *data.shape[1:]), data.dtype)
        else:
            values = data[safe]
        if any_missing:
            values[missing] = {"f": np.nan, "b": False}.get(values.dtype.kind, 0)
        taken.add_column(_column_like(column, values), name=name, copy=False)
    return taken


def _concatenate_rows(tables, order=None):
    """Row-wise concatenation of tables with the same columns, optionally reordered.

    What ``vstack(join_type="inner")`` does for the columns common to all tables, in one numpy
    concatenation (and one fancy index for ``order``) per column.
    """
    names = [n for n in tables[0].colnames if all(n in t.colnames for t in tables[1:])]
    result = Table()
    for name in names:
        data = np.concatenate([np.asarray(t[name]) for t in tables])
        if order is not None:
            data = data[order]
        result.add_column(_column_like(tables[0][name], data), name=name, copy=False)
    return result


def telescope_lists_to_mask(lists, subarray):
    """``(n_events, n_tels)`` boolean mask of a column of telescope-id lists."""
    lengths = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
    mask = np.zeros((len(lists), subarray.n_tels), dtype=bool)
    n_total = int(lengths.sum())
    if n_total:
        tel_ids = np.fromiter(itertools.chain.from_iterable(lists), np.int64, count=n_total)
        events = np.repeat(np.arange(len(lists)), lengths)
        mask[events, subarray.tel_ids_to_indices(tel_ids)] = True
    return mask


class DL1ChunkReader:
    """Iterate over a ctapipe DL1 (and stereo DL2) file in chunks of subarray events.

    Parameters
    ----------
    h5file : tables.File
        The open input file.
    subarray : ctapipe.instrument.SubarrayDescription
        Its subarray (telescope order of ``tels_with_trigger``).
    chunk_size : int
        Subarray events per chunk.
    columns : set of str or None
        Columns to keep in the telescope tables (all if None), see `columns_used`.
    """

    def __init__(self, h5file, subarray, chunk_size=100_000, columns=None):
        self.h5file = h5file
        self.columns = None if columns is None else set(columns) | set(COMBINER_COLUMNS)
        self.subarray = subarray
        self.chunk_size = max(int(chunk_size), 1)
        self.trigger = h5file.get_node(DL1_SUBARRAY_TRIGGER_TABLE)
        self.n_events = self.trigger.nrows
        self.subarray_tables = self._children(DL2_SUBARRAY_GROUP, 2, "Table")
        self.tel_groups = self._children(DL2_TEL_GROUP, 2, "Group")
        self._pointing = {}
        self._attrs = {}

    def _children(self, path, depth, classname):
        """Paths of the ``classname`` nodes ``depth`` levels below ``path``."""
        if path not in self.h5file.root:
            return []
        nodes = [self.h5file.get_node(path)]
        for _ in range(depth - 1):
            nodes = [child for node in nodes for child in node._f_iter_nodes("Group")]
        return [child._v_pathname for node in nodes for child in node._f_iter_nodes(classname)]

    def _useful(self, path):
        """False for a table none of whose columns (besides the keys) is wanted: not read."""
        if self.columns is None:
            return True
        names = self.h5file.get_node(path).colnames
        return any(name in self.columns for name in names if name not in (*_KEYS, "tel_id"))

    def _read(self, path, start, stop, names=None):
        """Rows [start, stop) of a ctapipe table, only the wanted columns (``names``, or the
        reader's columns and the event keys), as `ctapipe.io.read_table` returns them.

        The column attributes (units, descriptions, transforms) are parsed once per table,
        and only the kept columns are converted: on 10⁵-row chunks of the DL1 parameters
        this is about 30 % faster than ``read_table`` followed by dropping columns. Custom
        column metadata (besides unit and description) is not read.
        """
        if f"{path}.__table_column_meta__" in self.h5file.root:  # written by astropy
            table = read_table(self.h5file, path, start=start, stop=stop)
            return table[names] if names is not None else self._keep(table)
        node = self.h5file.get_node(path)
        if path not in self._attrs:
            self._attrs[path] = column_metadata(node)
        transforms, descriptions, meta = self._attrs[path]
        array = node.read(start=start, stop=stop)
        keys = (*_KEYS, "tel_id")
        if names is None and self.columns is not None:
            names = [n for n in array.dtype.names if n in self.columns or n in keys]
        elif names is None:
            names = list(array.dtype.names)
        table = Table([array[name] for name in names], names=names, meta=dict(meta), copy=False)
        for name in names:
            transform = transforms.get(name)
            if transform is not None and not isinstance(transform, EnumColumnTransform):
                table[name] = transform.inverse(table[name])
            table[name].description = descriptions.get(name, "")
        return table

    def _keep(self, table):
        """``table`` reduced (in place) to the wanted columns and the event keys."""
        if self.columns is not None:
            table.keep_columns(
                [c for c in table.colnames if c in self.columns or c in (*_KEYS, "tel_id")]
            )
        return table

    def __len__(self):
        return int(np.ceil(self.n_events / self.chunk_size))

    def __iter__(self):
        offsets = np.zeros(self.subarray.n_tels, dtype=np.int64)
        for start in range(0, self.n_events, self.chunk_size):
            stop = min(start + self.chunk_size, self.n_events)
            chunk, counts = self.read(start, stop, offsets)
            offsets += counts
            yield chunk

    def first(self, n_events):
        """The first ``n_events`` subarray events as one chunk (feature checks)."""
        stop = min(int(n_events), self.n_events)
        return self.read(0, stop, np.zeros(self.subarray.n_tels, dtype=np.int64))[0]

    def read(self, start, stop, offsets):
        """Chunk [start, stop) given each telescope's first row; returns (chunk, rows read)."""
        events = self._read(
            DL1_SUBARRAY_TRIGGER_TABLE,
            start,
            stop,
            names=["obs_id", "event_id", "time", "tels_with_trigger"],
        )
        with_trigger = np.asarray(events["tels_with_trigger"], dtype=bool)
        obs_id = np.asarray(events["obs_id"], dtype=np.int64)
        event_id = np.asarray(events["event_id"], dtype=np.int64)
        subarray_columns = self._subarray_columns(start, stop, obs_id, event_id)
        tel_tables, tel_event_rows = {}, {}
        counts = with_trigger.sum(axis=0).astype(np.int64)
        for index, tel_id in enumerate(self.subarray.tel_ids):
            if counts[index] == 0:
                continue
            path = f"{DL1_TEL_PARAMETERS_GROUP}/tel_{tel_id:03d}"
            if path not in self.h5file.root:
                continue
            first, last = int(offsets[index]), int(offsets[index] + counts[index])
            table = self._read(path, first, last)
            event_rows = np.flatnonzero(with_trigger[:, index])
            if not _ids_equal(table, obs_id[event_rows], event_id[event_rows]):
                event_rows = match_events(table["obs_id"], table["event_id"], obs_id, event_id)
            self._add_tel_dl2(table, tel_id, first, last)
            self._add_subarray(table, subarray_columns, event_rows)
            table["time"] = events["time"][np.maximum(event_rows, 0)]
            self._add_pointing(table, tel_id)
            table.meta.clear()
            if self.columns is not None and "time" not in self.columns:
                table.remove_column("time")  # only needed for the pointing
            tel_tables[tel_id] = table
            tel_event_rows[tel_id] = event_rows
        events = _select(events, ["obs_id", "event_id", "time"])
        return Chunk(start, stop, events, tel_tables, tel_event_rows), counts

    def _subarray_columns(self, start, stop, obs_id, event_id):
        """All subarray DL2 columns of the chunk, aligned with the trigger rows."""
        merged = Table()
        for path in self.subarray_tables:
            if not self._useful(path):
                continue
            table = self._read(path, start, stop)
            if not _ids_equal(table, obs_id, event_id):
                rows = match_events(
                    obs_id, event_id, table["obs_id"], table["event_id"]
                )  # full-file tables would be needed for events beyond the block
                table = _take(table, rows)
            for name in table.colnames:
                if name not in _KEYS and name not in merged.colnames:
                    merged[name] = table[name]
        return merged

    def _add_tel_dl2(self, table, tel_id, first, last):
        for group in self.tel_groups:
            path = f"{group}/tel_{tel_id:03d}"
            if path not in self.h5file.root or not self._useful(path):
                continue
            dl2 = self._read(path, first, last)
            if not _ids_equal(dl2, np.asarray(table["obs_id"]), np.asarray(table["event_id"])):
                rows = match_events(
                    table["obs_id"], table["event_id"], dl2["obs_id"], dl2["event_id"]
                )
                dl2 = _take(dl2, rows)
            for name in dl2.colnames:
                if name not in (*_KEYS, "tel_id"):
                    _set_column(table, name, dl2[name])

    @staticmethod
    def _add_subarray(table, subarray_columns, event_rows):
        if len(subarray_columns.colnames) == 0:
            return
        taken = _take(subarray_columns, event_rows)
        for name in taken.colnames:
            if name in table.colnames:  # like TableLoader: the telescope column gets "_mono"
                table.rename_column(name, f"{name}_mono")
            _set_column(table, name, taken[name])

    def _add_pointing(self, table, tel_id):
        """The telescope pointing at each event, as ``TableLoader(pointing=True)`` gives it."""
        if tel_id not in self._pointing:
            self._pointing[tel_id] = read_telescope_pointing(self.h5file, tel_id)
        pointing = self._pointing[tel_id]
        if pointing is None:
            return
        alt, az = pointing.at(table["time"], obs_id=np.asarray(table["obs_id"]))
        table["telescope_pointing_altitude"] = alt
        table["telescope_pointing_azimuth"] = az


def _set_column(table, name, column):
    """Put ``column`` into ``table`` under ``name`` without copying it (replacing any)."""
    if name in table.colnames:
        table.remove_column(name)
    table.add_column(column, name=name, copy=False)


def _select(table, names):
    """A new table sharing the data of the columns ``names`` of ``table`` (no copy, no meta)."""
    return Table([table[name] for name in names], names=names, copy=False)


def _combiner_columns(table, prefix):
    """Columns a stereo combiner may read: ids, Hillas, pointing and the prefix' predictions."""
    keep = ["obs_id", "event_id", "tel_id"]
    keep += [
        name
        for name in table.colnames
        if name.startswith((f"{prefix}_", "hillas_", "telescope_pointing_"))
    ]
    return keep


class ChunkPredictor:
    """Apply reconstructors and their stereo combiners to the chunks of a `DL1ChunkReader`.

    Parameters
    ----------
    reconstructors : list of ctapipe.reco.Reconstructor
        Applied in order; later ones see the predictions of earlier ones (two-stage models).
    subarray : ctapipe.instrument.SubarrayDescription
        The file's subarray (its telescope order defines the ``telescopes`` masks).
    log : logging.Logger
        Where "no model for this telescope" is reported (once per telescope and model).
    """

    def __init__(self, reconstructors, subarray, log):
        self.reconstructors = reconstructors
        self.subarray = subarray
        self.log = log
        self._warned = set()
        # each reconstructor sees only the columns it reads: stock predict_table copies the
        # whole table for the rows passing the quality query
        self._columns = [columns_used([reco]) for reco in reconstructors]
        # stereo predictions go back into the telescope tables only where a later
        # reconstructor (e.g. a two-stage classifier) may read them
        self._later = [
            set().union(*self._columns[index + 1 :]) for index in range(len(reconstructors))
        ]
        self._predict_table = [
            partial(predict_disp_table, reco)
            if has_stock_disp_prediction(reco)
            else reco.predict_table
            for reco in reconstructors
        ]

    def predict(self, chunk):
        """List of (hdf5 path, table) to append for this chunk, in writing order."""
        outputs = []
        for reco, predict_table, columns, later in zip(
            self.reconstructors, self._predict_table, self._columns, self._later, strict=True
        ):
            predicted = {}
            for tel_id, table in chunk.tel_tables.items():
                view = _select(table, [name for name in table.colnames if name in columns])
                try:
                    predictions = predict_table(self.subarray.tel[tel_id], view)
                except KeyError:
                    if (reco.prefix, tel_id) not in self._warned:
                        self._warned.add((reco.prefix, tel_id))
                        self.log.warning("no %s model for telescope %d", reco.prefix, tel_id)
                    continue
                for prop, prediction in predictions.items():
                    for name in prediction.colnames:
                        _set_column(table, name, prediction[name])
                    out = _select(table, ["obs_id", "event_id", "tel_id", *prediction.colnames])
                    outputs.append((f"{DL2_TEL_GROUP}/{prop}/{reco.prefix}/tel_{tel_id:03d}", out))
                predicted[tel_id] = table
            if predicted:
                outputs.extend(self._combine(reco.stereo_combiner, chunk, predicted, later))
        return outputs

    def _combine(self, combiner, chunk, tel_tables, later=None):
        """Array-event predictions of ``combiner``; the columns of them named in ``later``
        (all if None) are copied into the telescope tables for the reconstructors to come."""
        obs_id = np.asarray(chunk.events["obs_id"], dtype=np.int64)
        event_id = np.asarray(chunk.events["event_id"], dtype=np.int64)
        parts = [
            _select(table, _combiner_columns(table, combiner.prefix))
            for table in tel_tables.values()
        ]
        positions = [chunk.event_rows[tel_id] for tel_id in tel_tables]
        position = np.concatenate(positions)
        tel_id = np.concatenate([np.asarray(part["tel_id"]) for part in parts])
        order = np.lexsort((tel_id, position))
        stacked = _concatenate_rows(parts, order)
        position = position[order]

        if isinstance(combiner, SST1MMeanCombiner | MarsLikeDispCombiner):
            result = combiner.predict_table(stacked, subarray=self.subarray)
        else:
            # ctapipe's StereoMeanCombiner takes sqrt(-2 ln r) of a mean resultant length r
            # that rounding can put just above 1 for single-telescope events
            with np.errstate(invalid="ignore"):
                result = combiner.predict_table(stacked)
            for name in result.colnames:
                if name.endswith("telescopes") and result[name].dtype == object:
                    description = result[name].description
                    result[name] = telescope_lists_to_mask(result[name], self.subarray)
                    result[name].description = description
        result.meta.clear()
        path = f"{DL2_SUBARRAY_GROUP}/{combiner.property}/{combiner.prefix}"
        outputs = [(path, result)]

        # the combiner returns one row per array event, in the order of the stacked rows
        # position is sorted: the first row of each run of equal values
        first_rows = np.ones(len(position), dtype=bool)
        first_rows[1:] = position[1:] != position[:-1]
        event_positions = position[first_rows]
        if not _ids_equal(result, obs_id[event_positions], event_id[event_positions]):
            event_positions = match_events(result["obs_id"], result["event_id"], obs_id, event_id)
        row_of_event = np.full(len(obs_id), -1, dtype=np.intp)
        row_of_event[event_positions] = np.arange(len(result))
        names = [n for n in result.colnames if n not in _KEYS and (later is None or n in later)]
        if not names:
            return outputs
        stereo = _select(result, names)
        for table, rows in zip(tel_tables.values(), positions, strict=True):
            taken = _take(stereo, np.where(rows >= 0, row_of_event[rows], -1))
            for name in taken.colnames:
                _set_column(table, name, taken[name])
        return outputs

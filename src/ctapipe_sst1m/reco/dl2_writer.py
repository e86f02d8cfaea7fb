"""The DL2 output of ``sst1m-dl1-dl2``: the input copied, then the predictions appended.

`DL2Writer` copies the DL1 input into the (pending, atomic) output with
`~ctapipe_sst1m.io.hdf5_copy.ChunkCopyHDF5Merger`, appends the tables of
`~ctapipe_sst1m.reco.apply.ChunkPredictor` chunk by chunk, adds RA/Dec of the combined
directions of observed data, and at the end the table of the models used (paths, SHA-256,
node, configuration) before the output is committed.
"""

import ctypes
import ctypes.util
import json

import tables
from astropy.table import Table
from astropy.time import Time
from ctapipe.io import write_table

from ..io.datamodel import (
    DL2_MODELS_TABLE,
    DL2_SUBARRAY_GEOMETRY_GROUP,
    DL2_SUBARRAY_SKY_GROUP,
    SIMULATION_RUN_TABLE,
)
from ..io.hdf5_copy import ChunkCopyHDF5Merger
from .apply import ChunkPredictor, DL1ChunkReader, columns_used, match_events
from .dl2_models import CHUNK_CACHE_SIZE, KINDS
from .sky import horizontal_to_icrs

__all__ = ["DL2Writer", "release_free_memory"]


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _malloc_trim()


def release_free_memory():
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``; else nothing).

    The per-chunk arrays of HDF5, blosc and scikit-learn are freed after each chunk, but glibc
    keeps the freed heap pages mapped (its mmap threshold grows after the first large blocks are
    freed), so the resident memory grew chunk after chunk (+39 MB per 10^5 events) although
    nothing was alive; trimming after each chunk keeps it flat, for a few milliseconds.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class DL2Writer:
    """Copy a DL1 file into ``output`` and append the DL2 predictions of ``reconstructors``.

    Parameters
    ----------
    input_file : tables.File
        The open DL1 input.
    output : ctapipe_sst1m.core.PendingOutput
        The output, committed by `finish`.
    subarray : ctapipe.instrument.SubarrayDescription
    reconstructors : list
        Loaded reconstructors, applied in this order.
    choice : ctapipe_sst1m.reco.dl2_models.ModelChoice
        Where the models come from (written to ``/dl2/sst1m_models``).
    parent : ctapipe.core.Tool
        Parent of the copying ``HDF5Merger`` (its options) and logger.
    chunk_size : int
        Subarray events per chunk.
    compression : (str, int)
        PyTables compression library and level of the DL2 tables.
    """

    def __init__(
        self,
        input_file,
        output,
        subarray,
        reconstructors,
        choice,
        parent,
        chunk_size=100_000,
        compression=("blosc:lz4", 1),
    ):
        self.output = output
        self.subarray = subarray
        self.choice = choice
        self.log = parent.log
        self.is_simulation = SIMULATION_RUN_TABLE in input_file
        with ChunkCopyHDF5Merger(output.path, parent=parent) as merger:
            merger(input_file)
        self.h5file = tables.open_file(output.path, mode="r+", chunk_cache_size=CHUNK_CACHE_SIZE)
        self.reader = DL1ChunkReader(
            input_file, subarray, chunk_size, columns=columns_used(reconstructors)
        )
        self.predictor = ChunkPredictor(reconstructors, subarray, self.log)
        self._created = set()
        complib, complevel = compression
        self._filters = tables.Filters(complevel=complevel, complib=complib, fletcher32=True)

    def close(self):
        """Close the output file (idempotent); `finish` commits it, a failure discards it."""
        if self.h5file.isopen:
            self.h5file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def write_chunk(self, chunk):
        """Predict one chunk of the reader and append its tables."""
        for path, table in self.predictor.predict(chunk):
            self._append(path, table)
            if not self.is_simulation and path.startswith(f"{DL2_SUBARRAY_GEOMETRY_GROUP}/"):
                self._write_radec(chunk, path, table)
        release_free_memory()

    def finish(self, config_json):
        """Write the models table (``config_json``: the tool's configuration), close, commit."""
        rows = [
            {
                "kind": kind,
                "path": str(self.choice.node.path / entry["file"]),
                "sha256": entry["sha256"],
                "prefix": entry["prefix"],
            }
            for kind, entry in zip(KINDS, self.choice.entries, strict=False)
        ]
        table = Table(rows=rows)
        table.meta["mode"] = self.choice.mode
        table.meta["node"] = json.dumps(self.choice.node.as_dict())
        table.meta["config"] = config_json
        table.meta["sklearn_version"] = self.choice.meta.get("sklearn_version", "")
        write_table(table, self.h5file, DL2_MODELS_TABLE, overwrite=True)
        self.close()
        self.output.commit()

    def _write_radec(self, chunk, path, geometry):
        """RA/Dec of a chunk of combined directions (``/dl2/event/subarray/sky/<prefix>``)."""
        prefix = path.rsplit("/", 1)[-1]
        rows = match_events(
            geometry["obs_id"],
            geometry["event_id"],
            chunk.events["obs_id"],
            chunk.events["event_id"],
        )
        ra, dec = horizontal_to_icrs(
            geometry[f"{prefix}_alt"],
            geometry[f"{prefix}_az"],
            chunk.events["time"][rows],
            self.subarray.reference_location,
        )
        sky = Table(
            {
                "obs_id": geometry["obs_id"],
                "event_id": geometry["event_id"],
                f"{prefix}_ra": ra,
                f"{prefix}_dec": dec,
            }
        )
        self._append(f"{DL2_SUBARRAY_SKY_GROUP}/{prefix}", sky)

    def _append(self, path, table):
        """Append the rows of ``table`` to ``path``.

        ctapipe's ``write_table`` creates the table (units, descriptions, metadata as
        attributes); later chunks, whose columns are the same, are appended as plain rows
        instead of rewriting every attribute each time.
        """
        plain = not any(isinstance(c, Time) or c.dtype.kind == "U" for c in table.itercols())
        if path in self._created and plain:
            self.h5file.get_node(path).append(table.as_array())
        else:
            write_table(table, self.h5file, path, append=True, filters=self._filters)
            self._created.add(path)

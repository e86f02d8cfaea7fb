"""Low-level access to DigiCam zfits files (protobuf-in-FITS, read with ``protozfits``).

* :func:`digicam_events_header` — the ``Events`` HDU header if the file is a DigiCam zfits file,
  else None; never raises (used by ``is_compatible``).
* :func:`count_intact_events` — how many events of a possibly truncated file can be read.
  ``protozfits`` may crash the interpreter (segmentation fault) or return garbage on a file
  cut short by a DAQ crash, so a truncated file is probed in a child process first, and only
  over the tiles that :func:`events_in_complete_tiles` finds entirely inside the file (a tile
  whose bytes are missing is decoded by protozfits from a stale buffer: the previous tile's
  events come back a second time; the probe also stops at the first event met twice, for
  files whose catalog was never written).
* :class:`DigiCamFile` — one opened file yielding raw protobuf ``CameraEvent`` messages.
"""

import os
import subprocess
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

__all__ = [
    "DIGICAM_PBFHEAD",
    "DigiCamFile",
    "count_intact_events",
    "digicam_events_header",
    "events_in_complete_tiles",
    "expected_data_end",
]

DIGICAM_PBFHEAD = "DataModel.CameraEvent"
_DIGICAM_COLUMNS = {"hiGain_waveforms_samples", "telescopeID", "local_time_sec"}


@contextmanager
def _quiet_truncation():
    """Silence astropy's "may have been truncated": the source measures and reports it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "File may have been truncated", AstropyUserWarning)
        yield


def digicam_events_header(path):
    """Header of the ``Events`` HDU of a DigiCam zfits file, or None (never raises)."""
    try:
        path = Path(path)
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            if f.read(6) != b"SIMPLE":
                return None
        with (
            _quiet_truncation(),
            fits.open(path, memmap=False, lazy_load_hdus=True, ignore_missing_end=True) as hdul,
        ):
            for hdu in hdul[1:]:
                header = hdu.header
                if header.get("EXTNAME") != "Events":
                    continue
                if header.get("PBFHEAD") != DIGICAM_PBFHEAD:
                    return None
                columns = {header.get(f"TTYPE{i}") for i in range(1, header.get("TFIELDS", 0) + 1)}
                if not _DIGICAM_COLUMNS <= columns:
                    return None
                return header.copy()
    except Exception:  # noqa: BLE001 - is_compatible must never raise
        return None
    return None


def expected_data_end(path):
    """Byte offset at which the ``Events`` table data should end according to its header."""
    with _quiet_truncation(), fits.open(path, memmap=False, ignore_missing_end=True) as hdul:
        hdu = hdul["Events"]
        header = hdu.header
        info = hdu.fileinfo()
        size = header["NAXIS1"] * header["NAXIS2"] + header.get("PCOUNT", 0)
        return info["datLoc"] + size


_TILE_HEADER_SIZE = 16  # "TILE", uint32 number of rows, uint64 size of the tile's blocks


def events_in_complete_tiles(path):
    """Number of leading events of the ``Events`` table whose zfits tile is entirely in the file.

    A zfits table stores its rows in tiles of ``ZTILELEN`` events; its ``NAXIS2`` FITS rows are
    the catalog, one row per tile giving for every column the size and heap offset (big-endian
    int64 pairs) of the column's compressed block; the heap starts ``ZHEAPPTR`` bytes after the
    data start and each tile there begins with the ``TILE`` magic. Tiles are counted in order
    until the first one that ends beyond the end of the file.

    Returns None when the catalog cannot be trusted (no zfits keywords, a catalog of zeros or
    pointing at no ``TILE`` header), so the caller falls back on decoding alone.
    """
    path = Path(path)
    try:
        with (
            warnings.catch_warnings(),  # astropy warns about the truncation we examine
            fits.open(path, memmap=False, lazy_load_hdus=True, ignore_missing_end=True) as hdul,
        ):
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdu = hdul["Events"]
            header = hdu.header
            data_start = hdu.fileinfo()["datLoc"]
            n_tiles, n_columns = int(header["NAXIS2"]), int(header["TFIELDS"])
            row_width = int(header["NAXIS1"])
            tile_length, n_events = int(header["ZTILELEN"]), int(header["ZNAXIS2"])
            heap_start = data_start + int(header.get("ZHEAPPTR", header.get("THEAP")))
    except Exception:  # noqa: BLE001 - a damaged header: nothing to say from the catalog
        return None
    if row_width != 16 * n_columns or tile_length < 1:
        return None
    file_size = path.stat().st_size
    catalog_size = n_tiles * row_width
    if data_start + catalog_size > file_size:
        return 0  # the catalog itself is cut: no tile can be located
    with open(path, "rb") as f:
        f.seek(data_start)
        catalog = np.frombuffer(f.read(catalog_size), ">i8").reshape(n_tiles, n_columns, 2)
        intact = 0
        for tile, blocks in enumerate(catalog):
            sizes, offsets = blocks[:, 0], blocks[:, 1]
            if np.any(sizes <= 0) or offsets[0] < _TILE_HEADER_SIZE:
                return None if tile == 0 else intact * tile_length
            if heap_start + int(np.max(offsets + sizes)) > file_size:
                break
            f.seek(heap_start + int(offsets[0]) - _TILE_HEADER_SIZE)
            if f.read(4) != b"TILE":
                return None if tile == 0 else intact * tile_length
            intact += 1
    return min(intact * tile_length, n_events)


_PROBE = """
import sys
import numpy as np
from protozfits import File
path, n_expected = sys.argv[1], int(sys.argv[2])
f = File(path, pure_protobuf=True)
first = None
seen = set()
for i in range(n_expected):
    try:
        e = f.Events[i]
        w = e.hiGain.waveforms
        idx = np.frombuffer(w.pixelsIndices.data, np.uint16)
        n_s = np.frombuffer(w.samples.data, np.int16).size
        ok = idx.size > 0 and n_s % idx.size == 0 and n_s > 0
        ok = ok and np.array_equal(np.sort(idx), np.arange(idx.size))
        ok = ok and e.local_time_sec > 0
        if first is None:
            first = e.telescopeID
        ok = ok and e.telescopeID == first
        # an event met again is protozfits replaying a stale tile buffer, not data
        key = (e.eventNumber, e.local_time_sec, e.local_time_nanosec)
        ok = ok and key not in seen
        seen.add(key)
    except Exception:
        ok = False
    if not ok:
        break
    print("INTACT", i + 1, flush=True)
"""


def count_intact_events(path, n_expected, timeout=600):
    """Number of leading events of ``path`` that decode to valid DigiCam events.

    Only the events of the tiles entirely inside the file are decoded (see
    :func:`events_in_complete_tiles`), in a child process, so that a crash of the C++ reader on
    a damaged file cannot take the caller down.
    """
    in_complete_tiles = events_in_complete_tiles(path)
    if in_complete_tiles is not None:
        n_expected = min(int(n_expected), in_complete_tiles)
    if n_expected <= 0:
        return 0
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, os.fspath(path), str(int(n_expected))],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    # the C++ reader prints its own diagnostics on stdout: keep only our lines
    counts = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("INTACT ")]
    return int(counts[-1]) if counts else 0


class DigiCamFile:
    """One DigiCam zfits file, opened with ``protozfits`` in raw-protobuf mode.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    n_events : int or None
        Number of events to read (the intact part of a truncated file); all if None.
    """

    def __init__(self, path, n_events=None):
        from protozfits import File

        self.path = Path(path)
        with _quiet_truncation():  # the source reports what a truncation costs, once
            self._file = File(os.fspath(self.path), pure_protobuf=True)
            self.events = self._file.Events
            self.header = self.events.header
        self.n_events = len(self.events) if n_events is None else int(n_events)

    def __len__(self):
        return self.n_events

    def __iter__(self):
        for index in range(self.n_events):
            yield self.events[index]

    def first_event(self):
        """The first event, or None for a file without events."""
        return self.events[0] if self.n_events > 0 else None

    def close(self):
        """Close the underlying protozfits file."""
        self._file.close()


def clock_ns(message):
    """Camera clock of a raw ``CameraEvent`` in integer ns."""
    return int(message.local_time_sec) * 1_000_000_000 + int(message.local_time_nanosec)


def any_array(message_field, dtype):
    """numpy view of a protobuf ``AnyArray`` field (empty array if absent)."""
    return np.frombuffer(message_field.data, dtype)

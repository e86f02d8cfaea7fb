"""Rewrite a DigiCam zfits file with its ``Events`` table split into several tiles.

Every DigiCam example file we have holds all its events in ONE zfits tile, and protozfits
cannot write DigiCam ``CameraEvent`` messages, so multi-tile files (what the camera DAQ
writes for real runs) have to be built by hand to test partial recovery of truncated files.

The zfits layout this relies on (verified on the protozfits example files):

* the table is a FITS ``BINTABLE`` with ``ZTABLE = T``; its ``NAXIS2`` rows are the *catalog*,
  one row per tile with, for every column, two big-endian int64 ``(block size, block offset)``,
  offsets counted from the start of the heap (``ZHEAPPTR`` bytes after the data start);
* each tile in the heap starts with a 16-byte header ``"TILE"``, uint32 number of rows,
  uint64 size of the tile without this header, then one block per column;
* a block starts with uint64 block size (header included), one ordering byte (``'C'``/``'R'``),
  uint8 number of processings and that many uint16 processing codes (``0`` raw, ``7`` zlib, …,
  undone last to first), followed by the compressed bytes;
* uncompressed, a protobuf column of a tile is, row after row, the value packed as the
  ``ZFORM`` type (scalars) or an int32 byte count followed by the bytes (``AnyArray``, bytes).

Instead of undoing the original compression (Huffman codings and friends), the column bytes are
rebuilt from the messages protozfits decodes, and every block is written zlib-compressed.
"""

import struct
import zlib
from pathlib import Path

import numpy as np
from astropy.io import fits
from google.protobuf.descriptor import FieldDescriptor

__all__ = ["retile_zfits"]

_ZLIB = 7
_BLOCK = 2880
_SCALAR_FORMATS = {
    FieldDescriptor.CPPTYPE_INT32: "<i",
    FieldDescriptor.CPPTYPE_UINT32: "<I",
    FieldDescriptor.CPPTYPE_INT64: "<q",
    FieldDescriptor.CPPTYPE_UINT64: "<Q",
    FieldDescriptor.CPPTYPE_FLOAT: "<f",
    FieldDescriptor.CPPTYPE_DOUBLE: "<d",
    FieldDescriptor.CPPTYPE_BOOL: "<?",
    FieldDescriptor.CPPTYPE_ENUM: "<i",
}


def _column_bytes(message, protobuf_id):
    """Bytes one row contributes to the uncompressed column with protobuf id ``"6.1.1"``."""
    *path, last = (int(number) for number in protobuf_id.split("."))
    for number in path:
        field = message.DESCRIPTOR.fields_by_number[number]
        if field.is_repeated:
            raise ValueError(f"repeated message in column path {protobuf_id} not supported")
        message = getattr(message, field.name)
    field = message.DESCRIPTOR.fields_by_number[last]
    value = getattr(message, field.name)
    if field.is_repeated:
        raise ValueError(f"repeated column {protobuf_id} not supported")
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        if field.message_type.name != "AnyArray":
            raise ValueError(f"column {protobuf_id} is a message but not an AnyArray")
        value = value.data
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return struct.pack("<i", len(value)) + value
    return struct.pack(_SCALAR_FORMATS[field.cpp_type], value)


def _block(payload):
    """One zlib-compressed column block with its header."""
    compressed = zlib.compress(payload, 1)
    header_size = 8 + 1 + 1 + 2
    return struct.pack("<QcBH", header_size + len(compressed), b"C", 1, _ZLIB) + compressed


def retile_zfits(source, destination, events_per_tile):
    """Write ``destination``: ``source`` with its ``Events`` split into tiles of N events.

    Parameters
    ----------
    source : str or pathlib.Path
        A DigiCam zfits file (primary HDU and one ``Events`` table).
    destination : str or pathlib.Path
        The file to write.
    events_per_tile : int
        Rows per tile (the last tile holds the remainder).

    Returns
    -------
    list of tuple
        ``(start, size)`` in bytes from the beginning of ``destination`` of every tile
        (16-byte tile header included), to let tests cut the file at a known place.
    """
    from protozfits import File

    source, destination = Path(source), Path(destination)
    with fits.open(source, disable_image_compression=True, memmap=False) as hdul:
        if len(hdul) != 2 or hdul[1].name != "Events":
            raise ValueError(f"{source}: expected a primary HDU and one Events table")
        header = hdul[1].header.copy()
        header_start = hdul[1].fileinfo()["hdrLoc"]
    n_columns = header["TFIELDS"]
    protobuf_ids = [header[f"TPBID{i}"] for i in range(1, n_columns + 1)]

    with File(source, pure_protobuf=True) as zfile:
        messages = [zfile.Events[i] for i in range(len(zfile.Events))]

    tiles = []
    for first in range(0, len(messages), events_per_tile):
        rows = messages[first : first + events_per_tile]
        blocks = [_block(b"".join(_column_bytes(m, pid) for m in rows)) for pid in protobuf_ids]
        tiles.append((len(rows), blocks))

    catalog = np.zeros((len(tiles), n_columns, 2), dtype=">i8")
    heap = bytearray()
    tile_offsets = []
    for index, (n_rows, blocks) in enumerate(tiles):
        tile_offsets.append(len(heap))
        body_size = sum(len(b) for b in blocks)
        heap += b"TILE" + struct.pack("<IQ", n_rows, body_size)
        for column, block in enumerate(blocks):
            catalog[index, column] = (len(block), len(heap))
            heap += block

    catalog_size = catalog.nbytes
    header["NAXIS2"] = len(tiles)
    header["PCOUNT"] = len(heap)
    header["THEAP"] = catalog_size
    header["ZHEAPPTR"] = catalog_size
    header["ZTILELEN"] = events_per_tile
    for key in ("CHECKSUM", "DATASUM"):
        header.remove(key, ignore_missing=True)

    header_bytes = header.tostring().encode("ascii")
    data = catalog.tobytes() + bytes(heap)
    data += b"\0" * (-len(data) % _BLOCK)
    primary = source.read_bytes()[:header_start]
    destination.write_bytes(primary + header_bytes + data)

    data_start = header_start + len(header_bytes) + catalog_size
    return [
        (data_start + start, 16 + sum(len(b) for b in blocks))
        for start, (_, blocks) in zip(tile_offsets, tiles, strict=True)
    ]

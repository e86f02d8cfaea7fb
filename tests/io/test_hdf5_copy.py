"""Raw-chunk copy of HDF5 tables: same content, attributes and compression as the source."""

import astropy.units as u
import numpy as np
import tables
from astropy.table import Table
from ctapipe.io import read_table, write_table

from ctapipe_sst1m.io.hdf5_copy import ChunkCopyHDF5Merger, copy_table_chunks


def _source(path, n=25_000):
    rng = np.random.default_rng(0)
    table = Table(
        {
            "obs_id": np.full(n, 3, dtype=np.int64),
            "event_id": np.arange(n, dtype=np.int64),
            "hillas_intensity": rng.lognormal(5, 1, n),
            "hillas_psi": rng.uniform(-90, 90, n) * u.deg,
            "flag": rng.random(n) > 0.5,
        }
    )
    table["hillas_psi"].description = "image axis angle"
    # appended in pieces, like a writer does, so that the last chunk is partial
    for start in range(0, n, 7000):
        write_table(table[start : start + 7000], path, "/dl1/params", append=True)
    return table


def test_copy_table_chunks_is_identical(tmp_path):
    src_path = tmp_path / "src.h5"
    original = _source(src_path)
    with tables.open_file(src_path) as src, tables.open_file(tmp_path / "dst.h5", "w") as dst:
        node = src.root.dl1.params
        group = dst.create_group("/", "dl1")
        copied = copy_table_chunks(node, group)
        assert copied.nrows == node.nrows
        assert copied.chunkshape == node.chunkshape
        assert copied.filters == node.filters
        assert node.nrows % node.chunkshape[0] != 0  # a partial last chunk was copied
    back = read_table(tmp_path / "dst.h5", "/dl1/params")
    for name in original.colnames:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(original[name]))
    assert back["hillas_psi"].unit == u.deg
    assert back["hillas_psi"].description == "image axis angle"


def test_chunk_copy_merger_output_equals_stock_merger(tmp_path):
    from ctapipe.io import HDF5Merger

    from ctapipe_sst1m.simulation import make_toy_file

    src_path = make_toy_file(tmp_path / "toy.h5", "gamma", n_showers=3000, seed=2)
    results = {}
    for cls in (HDF5Merger, ChunkCopyHDF5Merger):
        out = tmp_path / f"{cls.__name__}.h5"
        with cls(out) as merger:
            merger(src_path)
        with tables.open_file(out) as f:
            results[cls] = {n._v_pathname: n.read() for n in f.walk_nodes("/", "Table")}
    stock, ours = results[HDF5Merger], results[ChunkCopyHDF5Merger]
    assert "/dl1/event/telescope/parameters/tel_001" in ours
    assert len(ours["/dl1/event/telescope/parameters/tel_001"]) > 10
    assert stock.keys() == ours.keys()
    for path, rows in stock.items():
        assert rows.dtype == ours[path].dtype, path
        for name in rows.dtype.names:
            np.testing.assert_array_equal(rows[name], ours[path][name], err_msg=path)


def test_copy_keeps_user_attributes_and_holds_no_buffer(tmp_path):
    """The copy allocates no table-sized I/O buffer on the source node (traced memory)."""
    import tracemalloc

    src_path = tmp_path / "src.h5"
    _source(src_path, n=200_000)
    with tables.open_file(src_path, "a") as f:
        f.root.dl1.params.attrs["CTA custom"] = "kept"
    with tables.open_file(src_path) as src, tables.open_file(tmp_path / "dst.h5", "w") as dst:
        node = src.root.dl1.params
        group = dst.create_group("/", "dl1")
        tracemalloc.start()
        copied = copy_table_chunks(node, group)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert copied.attrs["CTA custom"] == "kept"
        assert copied.title == node.title
        assert set(copied.attrs._v_attrnamesuser) == set(node.attrs._v_attrnamesuser)
        # the table holds 200 000 rows of 33 bytes (6.6 MB): a few chunks in memory at most
        assert peak < 1e6, peak


def test_copy_falls_back_to_hdf5_when_file_offsets_do_not_match(tmp_path, monkeypatch):
    """Raw reads at the reported offsets are checked once; wrong bytes switch to read_chunk."""
    from ctapipe_sst1m.io import hdf5_copy

    calls = []

    def wrong_pread(fd, size, offset):
        calls.append(offset)
        return bytes(size)

    monkeypatch.setattr(hdf5_copy.os, "pread", wrong_pread)
    src_path = tmp_path / "src.h5"
    original = _source(src_path)
    with tables.open_file(src_path) as src, tables.open_file(tmp_path / "dst.h5", "w") as dst:
        copy_table_chunks(src.root.dl1.params, dst.create_group("/", "dl1"))
    assert len(calls) == 1  # checked on the first chunk, then never used
    back = read_table(tmp_path / "dst.h5", "/dl1/params")
    for name in original.colnames:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(original[name]))

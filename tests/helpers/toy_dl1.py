"""Per-telescope observed-data DL1 files split from a two-telescope toy MC file.

Shared by the stereo-matching tests (``tests/stereo``) and the DL1->DL2 tool tests
(``tests/tools``); pytest puts ``tests/helpers`` on ``sys.path`` (``pythonpath`` in
``pyproject.toml``), so the conftest files import it as ``toy_dl1``.
"""

import numpy as np
from astropy.table import Table

from ctapipe_sst1m.io.clock import tai_ns_to_time


def split_telescope(
    source,
    output,
    tel_id,
    *,
    obs_id_shift=0,
    offset_ns=0,
    jitter_ns=0,
    drop=0.0,
    renumber=False,
    altitude_shift_deg=0.0,
    zero_times=False,
    seed=0,
):
    """Write one telescope of ``source`` as an observed-data single-telescope DL1 file.

    Returns the original event id of every written event, in output order.
    """
    import astropy.units as u
    import tables
    from ctapipe.instrument import SubarrayDescription
    from ctapipe.io import read_table, write_table

    from ctapipe_sst1m.stereo.stereo_file import _write_rows

    rng = np.random.default_rng(seed)
    node = f"tel_{tel_id:03d}"
    SubarrayDescription.from_hdf(source).select_subarray([tel_id]).to_hdf(output, overwrite=True)
    with tables.open_file(source) as src, tables.open_file(output, "a") as out:
        for key in src.root._v_attrs._f_list("user"):
            out.root._v_attrs[key] = src.root._v_attrs[key]
        out.root._v_attrs["CTA PROCESS TYPE"] = "Observation"
        for block in ("observation_block", "scheduling_block"):
            n = src.get_node(f"/configuration/observation/{block}")
            data = n.read()
            if "obs_id" in data.dtype.names:
                data["obs_id"] += obs_id_shift
            _write_rows(out, n, f"/configuration/observation/{block}", data)
        trig_node = src.root.dl1.event.telescope.trigger
        trig = trig_node.read()
        trig = trig[trig["tel_id"] == tel_id]
        keep = rng.random(len(trig)) >= drop
        trig = trig[keep]
        original_ids = trig["event_id"].copy()
        new_ids = np.arange(1, len(trig) + 1) if renumber else original_ids
        t = trig["time"][:, 0].astype(np.int64) * 10**9 + trig["time"][:, 1] // 4
        t = t + offset_ns + np.rint(rng.normal(0, jitter_ns, len(t))).astype(np.int64)
        if zero_times:
            t[:] = 0
        trig["time"][:, 0], trig["time"][:, 1] = t // 10**9, (t % 10**9) * 4
        trig["obs_id"] += obs_id_shift
        trig["event_id"] = new_ids
        _write_rows(out, trig_node, "/dl1/event/telescope/trigger", trig)
        for base in ("/dl1/event/telescope/parameters", "/dl1/event/telescope/images"):
            if f"{base}/{node}" not in src:
                continue  # toy files made without images
            n = src.get_node(f"{base}/{node}")
            data = n.read()
            position = {e: i for i, e in enumerate(data["event_id"])}
            data = data[[position[e] for e in original_ids]]
            data["obs_id"] += obs_id_shift
            data["event_id"] = new_ids
            _write_rows(out, n, f"{base}/{node}", data)
        fixed = src.get_node(f"/configuration/telescope/pointing/{node}").read()[0]
    pointing = Table(
        {
            "time": tai_ns_to_time([t.min() - 60 * 10**9, max(t.max(), 1) + 60 * 10**9]),
            "azimuth": np.full(2, fixed["telescope_pointing_azimuth"]) * u.rad,
            "altitude": (
                np.full(2, fixed["telescope_pointing_altitude"]) * u.rad
                + altitude_shift_deg * u.deg
            ).to(u.rad),
        }
    )
    write_table(pointing, output, f"/dl0/monitoring/telescope/pointing/{node}")
    assert read_table(output, "/dl1/event/telescope/trigger")["tel_id"][0] == tel_id
    return np.asarray(original_ids)


def make_stereo_dl1(source, workdir, method="WhiteRabbitClosest", drop=0.1):
    """Split ``source`` (toy MC with telescopes 21 and 22) and re-match it with sst1m-dl1-stereo.

    Returns the path of the stereo DL1 file, written in ``workdir``.
    """
    from ctapipe.core import run_tool

    from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

    f1, f2 = workdir / "tel21.dl1.h5", workdir / "tel22.dl1.h5"
    split_telescope(source, f1, 21, drop=drop, seed=1)
    split_telescope(source, f2, 22, drop=drop, seed=2, jitter_ns=30, renumber=True)
    out = workdir / "stereo.dl1.h5"
    argv = [f"--tel1={f1}", f"--tel2={f2}", f"--output={out}", f"--method={method}"]
    assert run_tool(DL1StereoTool(), argv=argv, cwd=workdir, raises=False) == 0
    return out

"""sst1m-dl2-dl3 and sst1m-create-index on the shared chain products (toy night → DL2).

The toy night has 8 runs of 40 s alternating two wobbles with 15 min between runs, so every
run is its own observation; the bank has three zenith nodes (20°, 30°, 40°), full-enclosure
and point-like, global gammaness cut 0.6.
"""

import shutil
import warnings

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.io import fits
from astropy.table import Table
from ctapipe.core import run_tool
from ctapipe.io import read_table

from ctapipe_sst1m.dl3 import runs_of, write_index
from ctapipe_sst1m.dl3.writer import EVENT_ID_STRIDE
from ctapipe_sst1m.tools.create_index import CreateIndexTool
from ctapipe_sst1m.tools.dl2_dl3 import DL2ToDL3Tool

GH_CUT = 0.6


def _run(tmp_path, argv, code=0):
    argv = [str(a) for a in argv] + [f"--provenance-log={tmp_path / 'prov.log'}"]
    assert run_tool(DL2ToDL3Tool(), argv=argv, cwd=tmp_path, raises=False) == code, argv


def _dl3(chain, out, *extra):
    out.mkdir(parents=True, exist_ok=True)
    argv = ["-i", chain.stereo_dl2, "--irfs", chain.irf_bank, "--output-dir", out]
    _run(out, [*argv, "--target", "Crab", *extra])
    return out


@pytest.fixture(scope="module")
def full(chain, tmp_path_factory):
    return _dl3(chain, tmp_path_factory.mktemp("dl3_full"))


@pytest.fixture(scope="module")
def point_like(chain, tmp_path_factory):
    return _dl3(chain, tmp_path_factory.mktemp("dl3_pl"), "--DL3Maker.irf_type=point-like")


def _files(directory):
    return sorted(directory.glob("dl3_*.fits"))


def _observations(directory, required_irf):
    from gammapy.data import DataStore

    store = DataStore.from_dir(directory)
    return store, store.get_observations(required_irf=required_irf)


@pytest.mark.parametrize("kind", ["full-enclosure", "point-like"])
def test_gammapy_reads_every_observation(full, point_like, kind):
    directory = full if kind == "full-enclosure" else point_like
    store, observations = _observations(directory, kind)
    assert len(observations) == len(_files(directory)) == 8
    for obs in observations:
        header = obs.events.table.meta
        assert obs.gti.time_sum.to_value(u.s) == pytest.approx(
            header["LIVETIME"] / header["DEADC"], rel=1e-9
        )
        icrs = obs.pointing.fixed_icrs
        assert icrs.ra.deg == pytest.approx(header["RA_PNT"]) and icrs.dec.deg == pytest.approx(
            header["DEC_PNT"]
        )
        assert np.all(np.isfinite(obs.events.energy.to_value(u.TeV)))
        energy = np.geomspace(1, 30, 5) * u.TeV
        assert np.all(obs.aeff.evaluate(energy_true=energy, offset=0.4 * u.deg) > 0 * u.m**2)
        migra = obs.edisp.evaluate(energy_true=3 * u.TeV, migra=1 * u.one, offset=0.4 * u.deg)
        assert np.isfinite(migra)
        assert np.all(np.isfinite(obs.bkg.evaluate(energy=energy, offset=1 * u.deg).value))
        if kind == "full-enclosure":
            r68 = obs.psf.containment_radius(0.68, energy_true=3 * u.TeV, offset=0.4 * u.deg)
            assert 0 < r68.to_value(u.deg) < 1
        else:
            assert np.all(obs.rad_max.quantity > 0)
        # IRFs interpolated to the observation's zenith (inside the 20-40 deg grid)
        path = directory / f"dl3_SST1M_stereo_{obs.obs_id}.fits"
        aeff = fits.getheader(path, "EFFECTIVE AREA")
        assert header["IRF_METH"] == aeff["IRF_METH"] == "linear"
        assert aeff["ZEN_PNT"] == pytest.approx(header["ZEN_PNT"], abs=1e-5)
        assert 20 < aeff["ZEN_PNT"] < 40 and aeff["IRFCLAMP"] is False


def test_every_file_validates(full, point_like):
    from ogadf_schema import irfs
    from ogadf_schema.events import EVENTS, GTI

    schemas = {
        "EVENTS": EVENTS,
        "GTI": GTI,
        "EFFECTIVE AREA": irfs.AEFF_2D,
        "ENERGY DISPERSION": irfs.EDISP_2D,
        "PSF": irfs.PSF_TABLE,
        "RAD_MAX": irfs.RAD_MAX,
        "BACKGROUND": irfs.BKG_2D,
    }
    checked = set()
    for path in _files(full) + _files(point_like):
        with fits.open(path) as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SST-1M provenance cards are "additional"
            for name, schema in schemas.items():
                if name in hdul:
                    schema.validate_hdu(hdul[name], onerror="raise")
                    checked.add(name)
    assert checked == set(schemas)


def _passing_dl2(path):
    """Per run: the DL2 events passing validity, multiplicity 2 and g > GH_CUT (independent)."""
    models = {r["kind"]: r["prefix"] for r in read_table(path, "/dl2/sst1m_models")}
    e = read_table(path, f"/dl2/event/subarray/energy/{models['energy']}")
    g = read_table(path, f"/dl2/event/subarray/geometry/{models['disp']}")
    c = read_table(path, f"/dl2/event/subarray/particle_type/{models['classifier']}")
    valid = np.ones(len(e), bool)
    mult = np.full(len(e), 99)
    for table, prefix in ((e, models["energy"]), (g, models["disp"]), (c, models["classifier"])):
        valid &= np.asarray(table[f"{prefix}_is_valid"])
        mult = np.minimum(mult, np.count_nonzero(table[f"{prefix}_telescopes"], axis=1))
    keep = valid & (mult >= 2) & (np.asarray(c[f"{models['classifier']}_prediction"]) > GH_CUT)
    obs = np.asarray(e["obs_id"])[keep]
    return {int(o): int(np.count_nonzero(obs == o)) for o in np.unique(np.asarray(e["obs_id"]))}


def test_events_are_the_dl2_events_passing_the_irf_cuts(chain, full):
    want = _passing_dl2(chain.stereo_dl2)
    got = {}
    for path in _files(full):
        with fits.open(path) as hdul:
            assert hdul["EVENTS"].header["GH_CUT"] == GH_CUT
            ids = hdul["EVENTS"].data["EVENT_ID"]
            assert len(np.unique(ids)) == len(ids)
            for run in runs_of(path):
                got[run] = int(np.count_nonzero(hdul["EVENTS"].data["RUN_ID"] == run))
    assert got == want
    assert sum(got.values()) > 50


def test_time_round_trips_to_the_dl1_trigger_time(chain, full):
    from gammapy.data import EventList

    trigger = read_table(chain.stereo_dl1, "/dl1/event/subarray/trigger")
    key = {(int(o), int(e)): t for o, e, t in zip(trigger["obs_id"], trigger["event_id"],
                                                  trigger["time"], strict=True)}  # fmt: skip
    worst, n = 0.0, 0
    for path in _files(full):
        events = EventList.read(path)
        table = events.table
        for run, eid, time in zip(table["RUN_ID"], table["EVENT_ID"], events.time, strict=True):
            dl1 = key[(int(run), int(eid) % EVENT_ID_STRIDE)]
            worst = max(worst, abs((time - dl1).to_value(u.s)))
            n += 1
    assert n > 50 and worst < 1e-6


def test_livetime_is_the_simulated_livetime(chain, full):
    truth = {r["obs_id"]: r for r in chain.truth["runs"]}
    for path in _files(full):
        header = fits.getheader(path, "EVENTS")
        (run,) = runs_of(path)
        lives = [t["livetime_s"] for t in truth[run]["telescopes"].values()]
        assert header["LIVETIME"] == pytest.approx(min(lives), rel=0.01)
        assert header["ONTIME"] == pytest.approx(truth[run]["duration_s"], rel=1e-6)
        assert header["OBS_ID"] == run and header["TELLIST"] == "21,22"
        assert header["N_TELS"] == 2 and header["INSTRUME"] == "SST1M-1,2"


def test_index_rows_and_a_moved_copy(full, point_like, tmp_path):
    hdu = Table.read(full / "hdu-index.fits.gz")
    expected = {"events", "gti", "pointing", "aeff", "edisp", "psf", "bkg"}
    for obs_id in set(hdu["OBS_ID"]):
        assert set(hdu["HDU_TYPE"][hdu["OBS_ID"] == obs_id]) == expected
    assert set(hdu["FILE_DIR"]) == {"."}
    hdu = Table.read(point_like / "hdu-index.fits.gz")
    assert {"rad_max", "aeff", "edisp", "bkg"} <= set(hdu["HDU_TYPE"]) and "psf" not in set(
        hdu["HDU_TYPE"]
    )
    # an index of another directory, then the whole tree moved elsewhere
    tree = tmp_path / "a"
    shutil.copytree(full, tree / "night1")
    index_dir = tree / "index"
    assert run_tool(
        CreateIndexTool(),
        argv=["-i", str(tree / "night1"), "-o", str(index_dir), f"--provenance-log={tmp_path}/p"],
        raises=False,
    ) == 0  # fmt: skip
    assert set(Table.read(index_dir / "hdu-index.fits.gz")["FILE_DIR"]) == {"../night1"}
    moved = tmp_path / "elsewhere"
    shutil.move(tree, moved)
    store, observations = _observations(moved / "index", "full-enclosure")
    assert len(observations) == 8 and len(observations[0].events.table) >= 0


def test_good_run_table_excludes_observations(full, tmp_path):
    files = _files(full)
    run = runs_of(files[0])[0]
    table = Table(
        {
            "obs_id": [run, run, runs_of(files[1])[0]],
            "tel_setup": ["stereo", "tel_021", "tel_021"],
            "good": [False, True, False],
            "flags": ["clouds", "", "nsb"],
        }
    )
    table.write(tmp_path / "good.ecsv")
    indexed, excluded = write_index(full, tmp_path / "idx", good_runs=tmp_path / "good.ecsv")
    assert list(excluded) == [run] and "clouds" in excluded[run]
    assert len(indexed) == 7  # the tel_021 flag of the second run does not count for stereo


def test_link_mode_and_nearest(chain, tmp_path):
    out = _dl3(chain, tmp_path / "link", "--irf-mode=link", "--interpolation=nearest")
    path = _files(out)[0]
    with fits.open(path) as hdul:
        assert "EFFECTIVE AREA" not in hdul
        assert hdul["EVENTS"].header["IRF_METH"] == "nearest"
    hdu = Table.read(out / "hdu-index.fits.gz")
    aeff = hdu[hdu["HDU_TYPE"] == "aeff"]
    assert all(name.startswith("SST1M_stereo_zen") for name in aeff["FILE_NAME"])
    _, observations = _observations(out, "full-enclosure")
    assert len(observations) == 8
    # link needs an unmodified node: interpolation refused in one line
    argv = ["-i", chain.stereo_dl2, "--irfs", chain.irf_bank, "--output-dir", tmp_path]
    _run(tmp_path, [*argv, "--target", "Crab", "--irf-mode=link", "--interpolation=linear"], 2)


def test_the_cuts_of_the_bank_are_applied(chain, full, tmp_path):
    bank = tmp_path / "bank"
    shutil.copytree(chain.irf_bank / "stereo", bank / "stereo")
    for path in bank.glob("stereo/*/*.fits.gz"):
        with fits.open(path) as hdul:
            for hdu in hdul[1:]:
                hdu.header["GH_CUT"] = 0.8
            hdul.writeto(path, overwrite=True)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["-i", chain.stereo_dl2, "--irfs", bank, "--output-dir", out, "--target", "Crab"]
    _run(out, [*argv, "--interpolation=nearest"])  # the cut is the node's either way
    n_strict = sum(len(fits.getdata(p, "EVENTS")) for p in _files(out))
    n_default = sum(len(fits.getdata(p, "EVENTS")) for p in _files(full))
    assert 0 < n_strict < n_default
    for path in _files(out):
        assert np.all(fits.getdata(path, "EVENTS")["GAMMANESS"] > 0.8)


def test_mono_wobble_of_two_runs(chain, tmp_path):
    """Runs 1 and 3 point at the same wobble: with a long max_gap they form one observation."""
    files = [chain.mono_dl2(21)[0], chain.mono_dl2(21)[2]]
    radec = ["--target-ra", 83.6331, "--target-dec", 22.0145]
    _run(tmp_path, ["-i", *files, "--irfs", chain.irf_bank, "--output-dir", tmp_path, *radec,
                    "--ObservationGrouper.max_gap=2000 s"])  # fmt: skip
    (path,) = _files(tmp_path)
    runs = runs_of(path)
    truth = {r["obs_id"]: r for r in chain.truth["runs"]}
    assert runs == sorted(truth)[0:3:2]
    with fits.open(path) as hdul:
        header, events = hdul["EVENTS"].header, hdul["EVENTS"].data
        assert header["OBS_ID"] == runs[0] and header["N_RUNS"] == 2
        assert header["TELSETUP"] == "tel_021" and header["TELLIST"] == "21"
        assert header["N_TELS"] == 1 and header["INSTRUME"] == "SST1M-1"
        assert header["OBJECT"] == "custom" and header["RA_OBJ"] == pytest.approx(83.6331)
        assert len(hdul["GTI"].data) == 2  # the 15 min between the runs are not counted
        assert header["ONTIME"] == pytest.approx(2 * 40.0, rel=1e-6)
        live = sum(truth[r]["telescopes"]["21"]["livetime_s"] for r in runs)
        assert header["LIVETIME"] == pytest.approx(live, rel=0.01)
        assert len(np.unique(events["EVENT_ID"])) == len(events) > 0
        assert set(events["RUN_ID"]) <= set(runs)


def _strip(src, dst, nodes=(), empty=False):
    shutil.copy(src, dst)
    with tables.open_file(dst, "a") as h5:
        for node in nodes:
            h5.remove_node(node, recursive=True)
        if empty:
            for group in ("/dl1/event", "/dl2/event"):
                for table in h5.walk_nodes(group, "Table"):
                    table.remove_rows(0, table.nrows)
    return dst


def test_bad_input_in_one_line(chain, tmp_path, capsys):
    from synthetic_bank import make_bank

    mono = chain.mono_dl2(21)[0]
    no_pointing = _strip(mono, tmp_path / "nopnt.dl2.h5", ["/dl0/monitoring/telescope/pointing"])
    stereo_only = make_bank(tmp_path / "bank")
    mc = chain.mc_dl2(20.0, "gamma-diffuse", "stereo")
    base = ["--output-dir", tmp_path / "out", "--target", "Crab"]
    (tmp_path / "out").mkdir()
    cases = [
        (["-i", no_pointing, "--irfs", chain.irf_bank], "no telescope pointing"),
        (["-i", mono, "--irfs", stereo_only], "no IRFs of tel_021"),
        (["-i", mc, "--irfs", chain.irf_bank], "simulated DL2"),
        (["-i", tmp_path / "none*.h5", "--irfs", chain.irf_bank], "matches no file"),
    ]
    for argv, message in cases:
        capsys.readouterr()
        _run(tmp_path, [*argv, *base], 2)
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
        assert len([line for line in err.splitlines() if message in line]) == 1
    assert not list((tmp_path / "out").glob("dl3_*"))


def test_empty_selection_writes_the_index_only(chain, tmp_path):
    empty = _strip(chain.mono_dl2(21)[0], tmp_path / "empty.dl2.h5", empty=True)
    out = tmp_path / "out"
    out.mkdir()
    _run(tmp_path, ["-i", empty, "--irfs", chain.irf_bank, "--output-dir", out,
                    "--target", "Crab"])  # fmt: skip
    assert not _files(out)
    assert len(Table.read(out / "obs-index.fits.gz")) == 0
    assert len(Table.read(out / "hdu-index.fits.gz")) == 0

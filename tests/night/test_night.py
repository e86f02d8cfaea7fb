"""sst1m-simulate-night: data-like DL1 runs, pointing, clocks, stereo matching, truth."""

import json

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.coordinates import AltAz, SkyCoord
from astropy.table import Table
from ctapipe.core import run_tool
from ctapipe.io import TableLoader, read_table

from ctapipe_sst1m.core.errors import SST1MInputError
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.io.clock import tai_ns_to_time
from ctapipe_sst1m.simulation import CameraNoiseModel
from ctapipe_sst1m.simulation.catalogue import resolve_target
from ctapipe_sst1m.simulation.clocks import apply_dead_time, era_for_date, swat_event_ids
from ctapipe_sst1m.simulation.night import run_night
from ctapipe_sst1m.simulation.night_files import pedestal_waveform
from ctapipe_sst1m.stereo.timestamps import time_to_ns
from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool
from ctapipe_sst1m.tools.simulate_night import SimulateNightTool

PARAMETERS = "/dl1/event/telescope/parameters"
SERVICE = "/dl1/service/stereo_matching"


def _truth(night):
    return json.loads((night / "truth.json").read_text())


def _files(night, prefix):
    return sorted(night.glob(f"{prefix}_*.dl1.h5"))


# ---------------------------------------------------------------------- small pieces
def test_catalogue_names_aliases_and_override():
    name, coord = resolve_target("mrk421")
    assert name == "Mrk 421"
    assert coord.dec.deg == pytest.approx(38.2088, abs=1e-4)
    assert resolve_target("Crab Nebula")[0] == "Crab"
    name, coord = resolve_target("my source", ra=10.0, dec=-5.0)
    assert (name, coord.ra.deg, coord.dec.deg) == ("my source", 10.0, -5.0)
    with pytest.raises(SST1MInputError, match="not in the local catalogue"):
        resolve_target("Vela X")
    with pytest.raises(SST1MInputError, match="both --ra and --dec"):
        resolve_target("Crab", ra=10.0)


def test_dead_time_and_swat_numbering():
    times = np.array([0, 5, 10, 12, 30, 31, 45], dtype=np.int64)
    assert apply_dead_time(times, 10).tolist() == [True, False, True, False, True, False, True]
    ids, next_id = swat_event_ids([7, 7, 3, 9, 3], first_id=100)
    assert ids.tolist() == [100, 100, 101, 102, 101]
    assert next_id == 103
    assert [
        era_for_date(d)
        for d in map(
            __import__("datetime").date.fromisoformat,
            ("2023-09-24", "2023-09-25", "2024-01-29", "2024-01-30"),
        )
    ] == ["pre-wr", "wr", "wr", "swat"]


def test_pedestal_waveform_is_the_camera_models_noise():
    subarray = sst1m_subarray((21, 22))
    readout = subarray.tel[21].camera.readout
    noise = CameraNoiseModel(nsb_rate=0.25)
    zeros = np.zeros(readout.n_pixels)
    a = pedestal_waveform(noise, np.random.default_rng(3), readout)
    b = noise.waveforms(np.random.default_rng(3), readout, zeros, zeros)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    window = 7  # 28 ns at 4 ns per sample
    assert a[0, :, :window].sum(axis=1).var() == pytest.approx(noise.pixel_noise_variance, rel=0.1)


# ---------------------------------------------------------------------- the files
def test_files_named_and_structured_like_real_dl1(wr_night):
    truth = _truth(wr_night)
    assert truth["era"] == "wr" and truth["auto_matcher"] == "WhiteRabbitClosest"
    for run in truth["runs"]:
        obs_id = run["obs_id"]
        assert obs_id == 20231110 * 10000 + run["run_number"]
        for tel_id, prefix in ((21, "SST1M1"), (22, "SST1M2")):
            path = wr_night / f"{prefix}_20231110_{run['run_number']:04d}.dl1.h5"
            assert run["telescopes"][str(tel_id)]["file"] == path.name
            with tables.open_file(path) as h5:
                assert "/simulation" not in h5
                assert "/configuration/simulation" not in h5
                nodes = [n._v_name for n in h5.get_node(PARAMETERS)._f_iter_nodes()]
                assert nodes == [f"tel_{tel_id:03d}"]
                for node in (
                    "/dl1/event/subarray/trigger",
                    "/dl1/event/telescope/trigger",
                    f"/dl1/monitoring/telescope/pedestal/tel_{tel_id:03d}",
                    f"/dl0/monitoring/telescope/pointing/tel_{tel_id:03d}",
                    "/dl1/service/image_statistics",
                    "/configuration/observation/observation_block",
                ):
                    assert node in h5, node
                assert h5.root._v_attrs["CTA PROCESS TYPE"] == "Observation"
            params = read_table(path, f"{PARAMETERS}/tel_{tel_id:03d}")
            assert np.all(params["obs_id"] == obs_id)
            assert np.all(np.isfinite(params["nsb_level"]))
            ob = read_table(path, "/configuration/observation/observation_block")
            assert ob["subarray_pointing_lon"].quantity[0].to_value(u.deg) == pytest.approx(
                run["wobble_ra_deg"]
            )


@pytest.fixture(scope="module")
def real_dl1(tmp_path_factory, digicam_2018_file, reference_dir):
    """What sst1m-r0-dl1 writes from the real 2018 raw file (tel 22)."""
    from traitlets.config import Config

    from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool

    calibration = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    config = Config({"DigiCamR0Corrections": {"calibration_file": [("id", 22, str(calibration))]}})

    out = tmp_path_factory.mktemp("real") / "real.dl1.h5"
    argv = [
        f"--input={digicam_2018_file}",
        f"--output={out}",
        "--SST1MEventSource.pointing_ra=83.63",
        "--SST1MEventSource.pointing_dec=22.01",
        f"--provenance-log={out.parent / 'prov.log'}",
        "--no-summary",
    ]
    run_tool(SST1MR0DL1Tool(config=config), argv, raises=True)
    return out


def test_columns_equal_those_of_sst1m_r0_dl1(wr_night, real_dl1):
    toy = _files(wr_night, "SST1M2")[0]
    for node in (
        f"{PARAMETERS}/tel_022",
        "/dl1/event/telescope/trigger",
        "/dl1/event/subarray/trigger",
        "/dl1/monitoring/telescope/pedestal/tel_022",
        "/configuration/observation/observation_block",
        "/configuration/observation/scheduling_block",
        "/dl1/service/image_statistics",
    ):
        with tables.open_file(real_dl1) as a, tables.open_file(toy) as b:
            real, mine = a.get_node(node), b.get_node(node)
            assert mine.dtype.names == real.dtype.names, node

            # same types and shapes (string lengths follow the content)
            def kinds(node):
                dtypes = [node.dtype[n] for n in node.dtype.names]
                return [
                    (d.base.kind, d.base.itemsize * (d.base.kind != "S"), d.shape) for d in dtypes
                ]

            assert kinds(mine) == kinds(real), node
    ped = read_table(toy, "/dl1/monitoring/telescope/pedestal/tel_022")
    assert set(ped["source"]) == {"sky_pedestal"}


def test_pointing_tracks_the_wobble_position(wr_night):
    truth = _truth(wr_night)
    target = SkyCoord(truth["target"]["ra_deg"] * u.deg, truth["target"]["dec_deg"] * u.deg)
    subarray = sst1m_subarray((21, 22))
    wobbles = []
    for run in truth["runs"]:
        wobble = SkyCoord(run["wobble_ra_deg"] * u.deg, run["wobble_dec_deg"] * u.deg)
        assert wobble.separation(target).deg == pytest.approx(0.4, abs=1e-6)
        wobbles.append(run["wobble"])
        for tel_id in (21, 22):
            path = wr_night / run["telescopes"][str(tel_id)]["file"]
            with TableLoader(path, pointing=True) as loader:
                events = loader.read_telescope_events()
            frame = AltAz(obstime=events["time"], location=subarray.tel_earth_locations[tel_id])
            pointing = SkyCoord(
                alt=events["telescope_pointing_altitude"],
                az=events["telescope_pointing_azimuth"],
                frame=frame,
            )
            assert len(events) > 10
            assert pointing.transform_to("icrs").separation(wobble).deg.max() < 0.01
    assert wobbles == ["W1", "W2", "W1", "W2"]
    for w in ("W1", "W2"):  # the target sets through the night
        zenith = [
            r["telescopes"]["21"]["pointing_zenith_deg"][0]
            for r in truth["runs"]
            if r["wobble"] == w
        ]
        assert np.all(np.diff(zenith) > 0)


def test_times_durations_and_dead_time(wr_night):
    truth = _truth(wr_night)
    for run in truth["runs"]:
        start, duration = run["start_ns"], run["duration_s"]
        assert duration == (10.0 if "truncated" in run["flags"] else 20.0)
        for tel_id in (21, 22):
            tel = run["telescopes"][str(tel_id)]
            trig = read_table(wr_night / tel["file"], "/dl1/event/telescope/trigger")
            t = time_to_ns(trig["time"])
            assert np.all(np.diff(t) > 0)
            assert t[0] >= start and t[-1] <= start + duration * 1e9 + 1e4
            assert (t[-1] - t[0]) / 1e9 > 0.8 * duration
            assert tel["n_pedestal_events"] == pytest.approx(2.0 * duration, abs=1)
            n_accepted = tel["n_events"] + tel["n_pedestal_events"]
            assert tel["dead_time_fraction"] == pytest.approx(
                n_accepted * truth["dead_time_s"] / duration, rel=1e-3
            )


def test_dead_time_fraction_follows_the_configuration(tmp_path):
    dead = 0.05  # 50 ms: a large dead time to see it at toy rates
    night = run_night(
        tmp_path / "dead",
        date="2023-11-10",
        n_runs=1,
        run_duration=30.0,
        seed=8,
        config={
            "NightSimulator": {"background_reduction": 0.5, "pedestal_rate": 5.0},
            "TelescopeClocks": {"dead_time": f"{dead} s"},
        },
    )
    run = _truth(night)["runs"][0]
    for tel_id in (21, 22):
        tel = run["telescopes"][str(tel_id)]
        trig = read_table(night / tel["file"], "/dl1/event/telescope/trigger")
        assert np.diff(time_to_ns(trig["time"])).min() >= dead * 1e9 - 1e4
        candidates = tel["n_shower_triggers"] + tel["n_pedestal_triggers"]
        accepted = tel["n_events"] + tel["n_pedestal_events"]
        fraction = tel["dead_time_fraction"]
        assert fraction == pytest.approx(accepted * dead / 30.0, rel=0.01)
        # triggers lost = candidates arriving while dead, within Poisson errors
        lost = candidates - accepted
        assert lost == pytest.approx(candidates * fraction, abs=3 * np.sqrt(candidates * fraction))
        assert lost > 0


def test_bad_periods_are_in_the_truth_and_in_the_data(wr_night):
    truth = _truth(wr_night)
    types = {(b["type"], b["run_number"]) for b in truth["bad_periods"]}
    assert types == {("cloud", 2), ("moon", 3), ("truncated", 4)}
    runs = {r["run_number"]: r for r in truth["runs"]}
    rate = {n: r["telescopes"]["21"]["n_events"] / r["duration_s"] for n, r in runs.items()}
    assert rate[2] < 0.5 * np.mean([rate[1], rate[3], rate[4]])  # the cloud
    nsb = {}
    for n, r in runs.items():
        nsb[n] = np.median(
            read_table(wr_night / r["telescopes"]["21"]["file"], f"{PARAMETERS}/tel_021")[
                "nsb_level"
            ]
        )
    assert nsb[3] > 1.4 * max(nsb[1], nsb[2], nsb[4])  # the moon
    truth_events = Table.read(wr_night / "truth_events.fits")
    assert set(truth_events["obs_id"]) == set(runs[n]["obs_id"] for n in runs)


# ---------------------------------------------------------------------- stereo matching
def _match(night, tmp_path, *extra):
    out = tmp_path / f"{night.name}_stereo.dl1.h5"
    argv = [
        f"--tel1={night}/SST1M1_*.dl1.h5",
        f"--tel2={night}/SST1M2_*.dl1.h5",
        f"--output={out}",
        "--method=auto",
        f"--provenance-log={tmp_path / 'stereo.log'}",
        *extra,
    ]
    assert run_tool(DL1StereoTool(), argv=argv, cwd=tmp_path, raises=True) == 0
    events = read_table(out, f"{SERVICE}/events")
    summary = read_table(out, f"{SERVICE}/summary")
    truth = Table.read(night / "truth_events.fits")
    shower = {
        (int(o), int(e), int(t)): int(s)
        for o, e, t, s in zip(
            truth["obs_id"], truth["event_id"], truth["tel_id"], truth["shower_id"], strict=True
        )
    }
    s1 = np.array(
        [
            shower[(int(o), int(e), 21)]
            for o, e in zip(events["tel_021_obs_id"], events["tel_021_event_id"], strict=True)
        ]
    )
    s2 = np.array(
        [
            shower[(int(o), int(e), 22)]
            for o, e in zip(events["tel_022_obs_id"], events["tel_022_event_id"], strict=True)
        ]
    )
    injected = np.intersect1d(
        truth["shower_id"][truth["tel_id"] == 21], truth["shower_id"][truth["tel_id"] == 22]
    )
    correct = np.count_nonzero(s1 == s2)
    return summary, correct / len(injected), (len(events) - correct) / len(events), len(injected)


@pytest.mark.parametrize(
    "name, method, extra",
    [
        ("wr_night", "WhiteRabbitClosest", ()),
        ("swat_night", "SWATEventIDs", ()),
        # default options: the pairing window adapts to the 2 µs jitter of the toy clocks
        ("prewr_night", "SlidingWindow", ()),
    ],
)
def test_stereo_matching_recovers_the_injected_coincidences(request, tmp_path, name, method, extra):
    night = request.getfixturevalue(name)
    summary, recovered, false, n_injected = _match(night, tmp_path, *extra)
    assert set(summary["method"]) == {method}
    assert n_injected > 60
    assert recovered >= 0.99
    assert false < 0.001
    if method == "SlidingWindow":
        offsets = {
            r["obs_id"]: r["telescopes"]["22"]["clock_offset_ns"]
            - r["telescopes"]["21"]["clock_offset_ns"]
            for r in _truth(night)["runs"]
        }
        found = summary["offset"].quantity.to_value(u.ns)
        expected = np.array([offsets[o] for o in summary["obs_id"]])
        assert np.all(np.abs(found - expected) < 5000)
        assert len(set(expected)) == len(expected)  # a new unknown offset every run
        # 2 µs jitter per camera: peak width 2.8 µs, pairing within 5 sigma (+ 2.3/sqrt(n)
        # for ~25 pairs per run), not 1 ms
        width = summary["pair_half_width"].quantity.to_value(u.us)
        assert np.all((width > 8) & (width < 40))


def test_swat_era_gives_equal_event_ids(swat_night):
    truth = Table.read(swat_night / "truth_events.fits")
    t21, t22 = truth[truth["tel_id"] == 21], truth[truth["tel_id"] == 22]
    common, i1, i2 = np.intersect1d(t21["shower_id"], t22["shower_id"], return_indices=True)
    assert len(common) > 30
    assert np.array_equal(t21["event_id"][i1], t22["event_id"][i2])
    assert (
        len(np.intersect1d(np.setdiff1d(t21["event_id"], t21["event_id"][i1]), t22["event_id"]))
        == 0
    )


# ---------------------------------------------------------------------- reproducibility
def _contents(night):
    result = {}
    for path in sorted(night.glob("*.dl1.h5")):
        with tables.open_file(path) as h5:
            for node in h5.walk_nodes("/", "Table"):
                result[(path.name, node._v_pathname)] = node.read()
    result["truth"] = np.asarray(Table.read(night / "truth_events.fits"))
    return result


def test_one_seed_gives_identical_files(tmp_path):
    kwargs = dict(
        date="2024-02-10",
        n_runs=2,
        run_duration=10.0,
        config={"NightSimulator": {"background_reduction": 0.3}},
    )
    a = _contents(run_night(tmp_path / "a", seed=11, **kwargs))
    b = _contents(run_night(tmp_path / "b", seed=11, **kwargs))
    c = _contents(run_night(tmp_path / "c", seed=12, **kwargs))
    assert a.keys() == b.keys()
    assert len(a) > 20
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        for name in a[key].dtype.names:
            x, y = a[key][name], b[key][name]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (key, name)
    params = ("SST1M1_20240210_0001.dl1.h5", f"{PARAMETERS}/tel_021")
    assert len(a[params]) != len(c[params]) or not np.array_equal(a[params], c[params])


# ---------------------------------------------------------------------- command line
def test_unknown_target_is_a_one_line_error(tmp_path):
    argv = [
        "--date=2024-03-05",
        "--target=Vela X",
        f"--output-dir={tmp_path / 'x'}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(SimulateNightTool(), argv=argv, cwd=tmp_path, raises=False) == 2
    assert not (tmp_path / "x" / "truth.json").exists()


def test_existing_outputs_need_overwrite(tmp_path):
    out = run_night(tmp_path / "n", n_runs=1, run_duration=5.0, seed=1)
    before = (out / "truth.json").read_text()
    argv = [
        "--date=2024-03-05",
        "--n-runs=1",
        "--run-duration=5",
        "--seed=2",
        f"--output-dir={out}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(SimulateNightTool(), argv=argv, cwd=tmp_path, raises=False) == 2
    assert (out / "truth.json").read_text() == before


def test_schedule_starts_at_the_start_zenith_and_splits_the_wobbles():
    from ctapipe_sst1m.simulation.observation import NightSchedule, ObservingConditions

    location = sst1m_subarray((21, 22)).tel_earth_locations[21]
    conditions = ObservingConditions()
    _, mrk421 = resolve_target("Mrk 421")
    schedule = NightSchedule(
        date="2024-03-05", n_runs=6, start_zenith=25 * u.deg, spread_runs=False
    )
    runs = schedule.plan(mrk421, location, conditions)
    assert [r.wobble_index for r in runs] == [0, 0, 0, 1, 1, 1]
    assert runs[3].start_ns - runs[2].start_ns == (40 + 60) * 10**9  # wobble gap
    assert runs[1].start_ns - runs[0].start_ns == (40 + 5) * 10**9  # run gap
    start = AltAz(obstime=tai_ns_to_time(runs[0].start_ns), location=location)
    assert 90 - mrk421.transform_to(start).alt.deg == pytest.approx(25.0, abs=0.05)
    later = AltAz(obstime=tai_ns_to_time(runs[0].start_ns + 600 * 10**9), location=location)
    assert 90 - mrk421.transform_to(later).alt.deg > 25.5  # setting
    # the Crab never reaches 25 deg at Ondrejov: the night starts at its culmination (28 deg)
    _, crab = resolve_target("Crab")
    first = NightSchedule(date="2024-03-05", n_runs=1).plan(crab, location, conditions)[0]
    frame = AltAz(obstime=tai_ns_to_time(first.start_ns), location=location)
    culmination = location.lat.deg - crab.dec.deg
    assert 90 - crab.transform_to(frame).alt.deg == pytest.approx(culmination, abs=0.05)


def _zenith(coord, location, time_ns):
    frame = AltAz(obstime=tai_ns_to_time(time_ns), location=location)
    return 90 - coord.transform_to(frame).alt.deg


@pytest.mark.parametrize("target, first", [("Mrk 421", 25.0), ("Crab", None)])
def test_default_night_spans_the_zenith_range_of_a_whole_night(target, first):
    """Even four runs go from the start zenith (or the culmination) to 45 deg, evenly."""
    from ctapipe_sst1m.simulation.observation import NightSchedule, ObservingConditions

    location = sst1m_subarray((21, 22)).tel_earth_locations[21]
    _, coord = resolve_target(target)
    runs = NightSchedule(date="2024-03-05", n_runs=4).plan(coord, location, ObservingConditions())
    zenith = [_zenith(coord, location, r.start_ns) for r in runs]
    first = first if first is not None else location.lat.deg - coord.dec.deg  # culmination
    assert zenith[0] == pytest.approx(first, abs=0.05)
    assert _zenith(coord, location, runs[-1].stop_ns) == pytest.approx(45.0, abs=0.05)
    assert np.all(np.diff(zenith) > 2.0)
    pauses = np.diff([r.start_ns for r in runs])
    assert np.ptp(pauses) <= 1  # evenly spread (integer ns)
    # with start_time the runs follow each other
    fixed = NightSchedule(date="2024-03-05", n_runs=4, start_time="2024-03-05T20:00:00")
    runs = fixed.plan(coord, location, ObservingConditions())
    assert runs[1].start_ns - runs[0].start_ns == (40 + 5) * 10**9


def test_night_tool_starts_without_the_reconstruction_stack():
    """Lazy imports: the toy night needs neither ctapipe.reco nor scikit-learn at start-up,
    and the configuration check still knows a class that only the full import provides."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ctapipe_sst1m.tools.simulate_night import SimulateNightTool\n"
        "SimulateNightTool().initialize(['--n-runs=2'])\n"
        "print(sorted(m for m in ('sklearn', 'ctapipe.reco', 'ctapipe.irf') if m in sys.modules))\n"
        "from traitlets.config import Config\n"
        "from ctapipe_sst1m.core.config import check_config\n"
        "check_config(Config({'EnergyRegressor': {'n_jobs': 1}}))\n"
        "print('sklearn' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"

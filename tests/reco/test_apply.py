"""Building blocks of the table-level DL2 path: event matching, masks, sky coordinates."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ICRS, AltAz, EarthLocation, SkyCoord
from astropy.table import Table
from astropy.time import Time
from ctapipe.reco.telescope_event_handling import get_subarray_index

from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.reco.apply import _take, match_events, telescope_lists_to_mask
from ctapipe_sst1m.reco.combiners import SST1MMeanCombiner, _subarray_index
from ctapipe_sst1m.reco.sky import horizontal_to_icrs


def test_match_events_finds_rows_across_observations_and_misses():
    ref_obs = np.array([5, 5, 7, 7, 7, 202403010012])
    ref_evt = np.array([10, 3, 3, 1, 99, 3])
    obs = np.array([7, 5, 202403010012, 5, 8])
    evt = np.array([1, 3, 3, 11, 3])
    np.testing.assert_array_equal(match_events(obs, evt, ref_obs, ref_evt), [3, 1, 5, -1, -1])


def test_match_events_on_large_shuffled_input_equals_dictionary_lookup():
    rng = np.random.default_rng(3)
    ref_obs = rng.integers(0, 4, 5000)
    ref_evt = rng.permutation(5000)
    pick = rng.integers(0, 5000, 800)
    obs = ref_obs[pick].copy()
    evt = ref_evt[pick].copy()
    obs[:50] = 9  # unknown observation
    lookup = {(o, e): i for i, (o, e) in enumerate(zip(ref_obs, ref_evt, strict=True))}
    expected = [lookup.get((o, e), -1) for o, e in zip(obs, evt, strict=True)]
    np.testing.assert_array_equal(match_events(obs, evt, ref_obs, ref_evt), expected)


def test_take_fills_missing_rows_like_a_left_join():
    table = Table({"x": [1.0, 2.0] * u.m, "ok": [True, True], "n": [4, 5]})
    taken = _take(table, np.array([1, -1, 0]))
    np.testing.assert_array_equal(np.asarray(taken["x"]), [2.0, np.nan, 1.0])
    assert taken["x"].unit == u.m
    np.testing.assert_array_equal(taken["ok"], [True, False, True])
    np.testing.assert_array_equal(taken["n"], [5, 0, 4])
    empty = _take(table[:0], np.array([-1, -1]))
    assert len(empty) == 2 and np.all(np.isnan(empty["x"]))


def test_telescope_lists_to_mask_uses_subarray_order():
    subarray = sst1m_subarray((21, 22))
    mask = telescope_lists_to_mask([[22], [], [21, 22], [21]], subarray)
    np.testing.assert_array_equal(mask, [[0, 1], [0, 0], [1, 1], [1, 0]])


def test_subarray_index_equals_ctapipe():
    rng = np.random.default_rng(1)
    multiplicity = rng.integers(1, 4, 300)
    event_id = np.repeat(rng.permutation(300), multiplicity)
    obs_id = np.repeat(rng.integers(1, 3, 300), multiplicity)
    table = Table({"obs_id": obs_id, "event_id": event_id})
    ours = _subarray_index(table)
    theirs = get_subarray_index(table)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_mean_combiner_mask_output_equals_lists():
    subarray = sst1m_subarray((21, 22))
    table = Table(
        {
            "obs_id": [1, 1, 1, 2],
            "event_id": [1, 1, 2, 2],
            "tel_id": [21, 22, 22, 21],
            "hillas_intensity": [100.0, 300.0, 50.0, 80.0],
            "E_tel_energy": [1.0, 2.0, 3.0, np.nan] * u.TeV,
            "E_tel_is_valid": [True, True, True, False],
        }
    )
    combiner = SST1MMeanCombiner(prefix="E", property="ENERGY")
    lists = combiner.predict_table(table)
    masks = combiner.predict_table(table, subarray=subarray)
    np.testing.assert_array_equal(
        masks["E_telescopes"], telescope_lists_to_mask(lists["E_telescopes"], subarray)
    )
    np.testing.assert_array_equal(masks["E_telescopes"], [[1, 1], [0, 1], [0, 0]])
    # intensity-weighted mean of ln E for the first event
    expected = np.exp((100 * np.log(1.0) + 300 * np.log(2.0)) / 400)
    assert masks["E_energy"].unit == u.TeV
    assert masks["E_energy"][0] == pytest.approx(expected)


def test_horizontal_to_icrs_agrees_with_astropy_per_event():
    location = EarthLocation.from_geodetic(14.78 * u.deg, 49.91 * u.deg, 510 * u.m)
    rng = np.random.default_rng(7)
    n = 400
    time = Time("2024-03-01T21:00:00", scale="utc") + np.sort(rng.uniform(0, 7200, n)) * u.s
    alt = rng.uniform(15, 89.5, n) * u.deg
    az = rng.uniform(0, 360, n) * u.deg
    alt[5] = np.nan * u.deg
    ra, dec = horizontal_to_icrs(alt, az, time, location)
    frame = AltAz(obstime=time, location=location)
    good = np.isfinite(alt)
    exact = SkyCoord(alt=alt[good], az=az[good], frame=frame[good]).transform_to(ICRS())
    separation = exact.separation(SkyCoord(ra=ra[good], dec=dec[good]))
    assert separation.max() < 0.01 * u.arcsec
    assert np.isnan(ra[5]) and np.isnan(dec[5])


def test_mono_direction_of_mars_like_combiner_equals_stock_mean():
    """The packaged mono config combines one telescope with MarsLikeDispCombiner."""
    from ctapipe.reco.preprocessing import telescope_to_horizontal
    from ctapipe.reco.stereo_combination import StereoMeanCombiner

    from ctapipe_sst1m.reco.combiners import MarsLikeDispCombiner

    rng = np.random.default_rng(5)
    n = 50
    lon = rng.uniform(-2, 2, n) * u.deg
    lat = rng.uniform(-2, 2, n) * u.deg
    psi = rng.uniform(-90, 90, n) * u.deg
    disp = rng.uniform(-1.5, 1.5, n) * u.deg
    alt0, az0 = np.full(n, 70.0) * u.deg, np.full(n, 20.0) * u.deg
    alt, az = telescope_to_horizontal(
        lon=lon + disp * np.cos(psi),
        lat=lat + disp * np.sin(psi),
        pointing_alt=alt0,
        pointing_az=az0,
    )
    table = Table(
        {
            "obs_id": np.ones(n, dtype=int),
            "event_id": np.arange(n),
            "tel_id": np.full(n, 21),
            "hillas_intensity": rng.uniform(50, 500, n),
            "hillas_fov_lon": lon,
            "hillas_fov_lat": lat,
            "hillas_psi": psi,
            "telescope_pointing_altitude": alt0,
            "telescope_pointing_azimuth": az0,
            "d_tel_parameter": disp,
            "d_tel_alt": alt.to(u.deg),
            "d_tel_az": az.to(u.deg),
            "d_tel_is_valid": np.ones(n, dtype=bool),
        }
    )
    stock = StereoMeanCombiner(prefix="d", property="GEOMETRY", weights="intensity")
    ours = MarsLikeDispCombiner(prefix="d", min_multiplicity=1)
    with np.errstate(invalid="ignore"):
        expected = stock.predict_table(table)
    result = ours.predict_table(table, subarray=sst1m_subarray((21, 22)))
    separation = SkyCoord(alt=result["d_alt"], az=result["d_az"], frame=AltAz()).separation(
        SkyCoord(alt=expected["d_alt"], az=expected["d_az"], frame=AltAz())
    )
    assert separation.max() < 1e-6 * u.deg
    np.testing.assert_array_equal(result["d_telescopes"][:, 0], True)


def test_stereo_predictions_copied_back_only_where_later_models_read_them():
    import logging

    from ctapipe_sst1m.reco.apply import Chunk, ChunkPredictor

    subarray = sst1m_subarray((21, 22))
    events = Table({"obs_id": [1, 1], "event_id": [1, 2]})

    def tel_table(tel_id, event_ids, energies):
        n = len(event_ids)
        return Table(
            {
                "obs_id": np.ones(n, dtype=np.int64),
                "event_id": np.asarray(event_ids, dtype=np.int64),
                "tel_id": np.full(n, tel_id, dtype=np.int16),
                "hillas_intensity": np.full(n, 100.0),
                "E_tel_energy": np.asarray(energies) * u.TeV,
                "E_tel_is_valid": np.ones(n, dtype=bool),
            }
        )

    combiner = SST1MMeanCombiner(prefix="E", property="ENERGY", weights="none")
    predictor = ChunkPredictor([], subarray, logging.getLogger("test"))
    results = {}
    for later in (set(), {"E_energy"}, None):
        tables = {21: tel_table(21, [1, 2], [1.0, 4.0]), 22: tel_table(22, [1], [4.0])}
        rows = {21: np.array([0, 1]), 22: np.array([0])}
        chunk = Chunk(0, 2, events, tables, rows)
        outputs = predictor._combine(combiner, chunk, tables, later)
        ((path, stereo),) = outputs
        assert path == "/dl2/event/subarray/energy/E"
        np.testing.assert_allclose(stereo["E_energy"].quantity.to_value(u.TeV), [2.0, 4.0])
        results[None if later is None else frozenset(later)] = tables
    assert "E_energy" not in results[frozenset()][21].colnames
    copied = results[frozenset({"E_energy"})]
    assert [c for c in copied[21].colnames if c.startswith("E_") and "_tel_" not in c] == [
        "E_energy"
    ]
    np.testing.assert_allclose(copied[22]["E_energy"].quantity.to_value(u.TeV), [2.0])
    assert {"E_energy", "E_energy_uncert", "E_is_valid"} <= set(results[None][21].colnames)

"""Stereo combiners on hand-built tables where the right answer is known."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from ctapipe.reco.preprocessing import horizontal_to_telescope, telescope_to_horizontal
from ctapipe.reco.reconstructor import ReconstructionProperty

from ctapipe_sst1m.reco import MarsLikeDispCombiner, SST1MMeanCombiner
from ctapipe_sst1m.reco.directions import (
    altaz_to_unit_vectors,
    angular_distance,
    sign_combinations,
    telescope_to_unit_vectors,
    unit_vectors_to_altaz,
)

POINT_ALT = 70.0
POINT_AZ = 10.0


def _disp_table(cogs, sources, disp_scale=1.0, tel_ids=(1, 2), valid=None, intensity=None):
    """Telescope events whose signed disp points from each cog to its source exactly."""
    rows = []
    for event_id, (cog_pair, source) in enumerate(zip(cogs, sources, strict=True)):
        for k, (tel_id, cog) in enumerate(zip(tel_ids, cog_pair, strict=True)):
            d_lon, d_lat = source[0] - cog[0], source[1] - cog[1]
            psi = np.degrees(np.arctan2(d_lat, d_lon))
            # keep psi inside (-90, 90] like Hillas; flip the disp sign instead
            sign = 1.0
            if psi > 90:
                psi -= 180
                sign = -1.0
            elif psi <= -90:
                psi += 180
                sign = -1.0
            rows.append(
                dict(
                    obs_id=1,
                    event_id=event_id,
                    tel_id=tel_id,
                    hillas_fov_lon=cog[0],
                    hillas_fov_lat=cog[1],
                    hillas_psi=psi,
                    hillas_intensity=100.0 if intensity is None else intensity[k],
                    telescope_pointing_altitude=POINT_ALT,
                    telescope_pointing_azimuth=POINT_AZ,
                    disp_tel_parameter=sign * disp_scale * np.hypot(d_lon, d_lat),
                    disp_tel_is_valid=True if valid is None else valid[event_id][k],
                )
            )
    table = Table(rows=rows)
    for name in ("hillas_fov_lon", "hillas_fov_lat", "hillas_psi", "disp_tel_parameter"):
        table[name].unit = u.deg
    for name in ("telescope_pointing_altitude", "telescope_pointing_azimuth"):
        table[name].unit = u.deg
    return table


def _source_altaz(source):
    alt, az = telescope_to_horizontal(
        source[0] * u.deg, source[1] * u.deg, POINT_ALT * u.deg, POINT_AZ * u.deg
    )
    return alt, az


def test_unit_vector_roundtrip_and_distance():
    alt = np.array([10.0, 45.0, 89.9]) * u.deg
    az = np.array([359.0, 0.5, 180.0]) * u.deg
    vec = altaz_to_unit_vectors(alt, az)
    alt2, az2 = unit_vectors_to_altaz(vec)
    np.testing.assert_allclose(alt2.value, alt.value, atol=1e-10)
    np.testing.assert_allclose(az2.value, az.value, atol=1e-9)
    # 359° and 1° azimuth at the horizon are 2° apart, not 358°
    a = altaz_to_unit_vectors(0 * u.deg, 359 * u.deg)
    b = altaz_to_unit_vectors(0 * u.deg, 1 * u.deg)
    assert np.rad2deg(angular_distance(a, b)) == pytest.approx(2.0, abs=1e-9)


def test_telescope_to_unit_vectors_matches_ctapipe_frames():
    rng = np.random.default_rng(5)
    n = 2000
    lon = rng.uniform(-4, 4, n) * u.deg
    lat = rng.uniform(-4, 4, n) * u.deg
    # pointings from the horizon to the zenith and across the 0/360 azimuth wrap
    p_alt = rng.choice([1.0, 30.0, 70.0, 89.99], n) * u.deg
    p_az = rng.choice([0.0, 0.2, 180.0, 359.8], n) * u.deg
    alt, az = telescope_to_horizontal(lon, lat, p_alt, p_az)
    expected = altaz_to_unit_vectors(alt, az)
    rad = [q.to_value(u.rad) for q in (lon, lat, p_alt, p_az)]
    vectors = telescope_to_unit_vectors(*rad)
    separation = np.rad2deg(angular_distance(vectors, expected)) * 3600
    assert separation.max() < 1e-6  # arcsec
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-14)


def test_sign_combination_order():
    np.testing.assert_array_equal(sign_combinations(2), [[1, 1], [-1, -1], [-1, 1], [1, -1]])
    assert sign_combinations(3).shape == (8, 3)


@pytest.mark.parametrize(
    ("cogs", "expected_code"),
    [
        # T1 cog right of the source (sign -), T2 below it along +lat (sign +) -> "mp"
        (((1.2, 0.3), (0.5, -0.6)), 2),
        # both cogs left/below the source along their axes -> "pp"
        (((-0.4, 0.3), (0.5, -0.6)), 0),
        # both on the far side -> "mm"
        (((1.4, 0.3), (0.5, 1.5)), 1),
        # T1 plus, T2 minus -> "pm"
        (((-0.4, 0.3), (0.5, 1.5)), 3),
    ],
)
def test_mars_like_picks_right_signs(cogs, expected_code):
    source = (0.5, 0.3)
    table = _disp_table([cogs], [source])
    combiner = MarsLikeDispCombiner(prefix="disp")
    result = combiner.predict_table(table)
    assert result["disp_sign_combination"][0] == expected_code
    assert result["disp_min_distance"][0] < 1e-6
    true_alt, true_az = _source_altaz(source)
    vec = altaz_to_unit_vectors(result["disp_alt"].quantity, result["disp_az"].quantity)
    dist = np.rad2deg(angular_distance(vec, altaz_to_unit_vectors(true_alt, true_az)))
    assert dist[0] < 1e-6
    assert result["disp_is_valid"][0]
    assert list(result["disp_telescopes"][0]) == [1, 2]


def test_mars_like_weighted_unit_vector_mean_and_distance():
    # disp overestimated by 20 %: candidates do not coincide, the right pair is still closest
    source = (0.5, 0.3)
    cogs = ((1.2, 0.3), (0.5, -0.6))
    table = _disp_table([cogs], [source], disp_scale=1.2, intensity=(100.0, 300.0))
    result = MarsLikeDispCombiner(prefix="disp").predict_table(table)
    assert result["disp_sign_combination"][0] == 2
    # chosen candidates: T1 at (0.5-0.14, 0.3), T2 at (0.5, 0.3+0.18)
    c1 = telescope_to_horizontal(0.36 * u.deg, 0.3 * u.deg, POINT_ALT * u.deg, POINT_AZ * u.deg)
    c2 = telescope_to_horizontal(0.5 * u.deg, 0.48 * u.deg, POINT_ALT * u.deg, POINT_AZ * u.deg)
    v1, v2 = altaz_to_unit_vectors(*c1), altaz_to_unit_vectors(*c2)
    expected_distance = np.rad2deg(angular_distance(v1, v2))
    assert result["disp_min_distance"][0] == pytest.approx(expected_distance, rel=1e-9)
    assert expected_distance == pytest.approx(np.hypot(0.14, 0.18), rel=1e-3)
    mean_alt, mean_az = unit_vectors_to_altaz(0.25 * v1 + 0.75 * v2)
    assert result["disp_alt"][0] == pytest.approx(mean_alt.value, abs=1e-9)
    assert result["disp_az"][0] == pytest.approx(mean_az.value, abs=1e-9)
    # the weighted mean lies 3/4 of the way towards T2 (small-angle check)
    lon, lat = horizontal_to_telescope(
        result["disp_alt"].quantity,
        result["disp_az"].quantity,
        POINT_ALT * u.deg,
        POINT_AZ * u.deg,
    )
    assert lon[0].value == pytest.approx(0.36 + 0.75 * 0.14, abs=1e-4)
    assert lat[0].value == pytest.approx(0.3 + 0.75 * 0.18, abs=1e-4)


def test_mars_like_ties_take_first_and_single_telescope_handling():
    # zero disp: all four combinations coincide -> the first (pp) wins like the reference
    source = (0.5, 0.3)
    cogs = [((0.5, 0.3), (0.5, 0.3)), ((1.2, 0.3), (0.5, -0.6))]
    table = _disp_table(cogs, [source, source], valid=[(True, True), (True, False)])
    result = MarsLikeDispCombiner(prefix="disp").predict_table(table)
    assert result["disp_sign_combination"][0] == 0
    assert not result["disp_is_valid"][1]
    assert result["disp_sign_combination"][1] == -1
    mono = MarsLikeDispCombiner(prefix="disp", min_multiplicity=1).predict_table(table)
    assert mono["disp_is_valid"][1]
    true_alt, true_az = _source_altaz(source)
    vec = altaz_to_unit_vectors(mono["disp_alt"].quantity, mono["disp_az"].quantity)
    assert np.rad2deg(angular_distance(vec[1], altaz_to_unit_vectors(true_alt, true_az))) < 1e-6


def test_mars_like_tel_order_independent_of_row_order():
    source = (0.5, 0.3)
    table = _disp_table([((1.2, 0.3), (0.5, -0.6))], [source])
    table.reverse()
    result = MarsLikeDispCombiner(prefix="disp").predict_table(table)
    assert result["disp_sign_combination"][0] == 2  # T1 is still tel 1


def _energy_table(energies, intensities, uncert=None, valid=None):
    n = len(energies)
    table = Table(
        {
            "obs_id": np.ones(n, dtype=int),
            "event_id": np.zeros(n, dtype=int),
            "tel_id": np.arange(1, n + 1),
            "hillas_intensity": np.asarray(intensities, dtype=float),
            "E_tel_energy": u.Quantity(energies, u.TeV),
            "E_tel_is_valid": np.ones(n, bool) if valid is None else np.asarray(valid),
        }
    )
    if uncert is not None:
        table["E_tel_energy_uncert"] = u.Quantity(uncert, u.TeV)
    return table


def test_energy_weighted_means_hand_computed():
    table = _energy_table([1.0, 4.0], [100.0, 300.0], uncert=[0.1 * 1.0, 0.2 * 4.0])
    kw = dict(prefix="E", property=ReconstructionProperty.ENERGY)
    none = SST1MMeanCombiner(weights="none", **kw).predict_table(table)
    assert none["E_energy"][0] == pytest.approx(2.0)
    intensity = SST1MMeanCombiner(weights="intensity", **kw).predict_table(table)
    assert intensity["E_energy"][0] == pytest.approx(4.0**0.75)
    # sigma(ln E) = 0.1 and 0.2 -> weights 100 : 25
    inv = SST1MMeanCombiner(weights="inverse-variance", **kw).predict_table(table)
    assert inv["E_energy"][0] == pytest.approx(4.0**0.2)
    linear = SST1MMeanCombiner(weights="none", log_target=False, **kw).predict_table(table)
    assert linear["E_energy"][0] == pytest.approx(2.5)
    # weighted population std of ln E for equal weights: |ln 4| / 2, propagated to TeV
    assert none["E_energy_uncert"][0] == pytest.approx(2.0 * np.log(4.0) / 2)


def test_invalid_telescopes_are_ignored_and_listed():
    table = _energy_table([1.0, 4.0], [100.0, 300.0], valid=[True, False])
    result = SST1MMeanCombiner(
        prefix="E", property=ReconstructionProperty.ENERGY, weights="intensity"
    ).predict_table(table)
    assert result["E_energy"][0] == pytest.approx(1.0)
    assert list(result["E_telescopes"][0]) == [1]


def test_gammaness_weighted_mean_and_missing_variance_column():
    table = Table(
        {
            "obs_id": [1, 1, 1],
            "event_id": [5, 5, 6],
            "tel_id": [1, 2, 1],
            "hillas_intensity": [100.0, 300.0, 50.0],
            "G_tel_prediction": [0.2, 0.8, 0.4],
            "G_tel_is_valid": [True, True, True],
        }
    )
    kw = dict(prefix="G", property=ReconstructionProperty.PARTICLE_TYPE)
    result = SST1MMeanCombiner(weights="intensity", **kw).predict_table(table)
    np.testing.assert_allclose(result["G_prediction"], [0.65, 0.4])
    with pytest.raises(KeyError, match="inverse-variance weights need column"):
        SST1MMeanCombiner(weights="inverse-variance", **kw).predict_table(table)
    table["G_tel_prediction_uncert"] = [0.1, 0.05, 0.2]
    result = SST1MMeanCombiner(weights="inverse-variance", **kw).predict_table(table)
    # weights 100 and 400
    assert result["G_prediction"][0] == pytest.approx((0.2 * 100 + 0.8 * 400) / 500)


def test_mean_combiner_refuses_geometry():
    with pytest.raises(NotImplementedError, match="MarsLikeDispCombiner"):
        SST1MMeanCombiner(prefix="x", property=ReconstructionProperty.GEOMETRY)

"""The vectorised two-telescope geometry reproduces ctapipe's HillasReconstructor."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from ctapipe.containers import (
    ArrayEventContainer,
    HillasParametersContainer,
    ImageParametersContainer,
    MorphologyContainer,
    TelescopePointingContainer,
)
from ctapipe.reco import HillasReconstructor

from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.stereo.geometry import TableHillasReconstructor

TEL_IDS = (1, 2)


def random_tables(n, seed=0, divergent=False):
    """Row-aligned parameter tables of both telescopes with random (non-degenerate) images."""
    rng = np.random.default_rng(seed)
    alt0 = rng.uniform(50, 85, n)
    az0 = rng.uniform(0, 360, n)
    tables = []
    for k in range(2):
        shift = rng.normal(0, 0.5, (2, n)) if divergent else np.zeros((2, n))
        intensity = rng.uniform(20, 5000, n)
        table = QTable(
            {
                "hillas_fov_lon": rng.uniform(-3, 3, n) * u.deg,
                "hillas_fov_lat": rng.uniform(-3, 3, n) * u.deg,
                "hillas_psi": rng.uniform(-90, 90, n) * u.deg,
                "hillas_intensity": intensity,
                "hillas_length": rng.uniform(0.1, 0.5, n) * u.deg,
                "hillas_width": rng.uniform(0.02, 0.1, n) * u.deg,
                "morphology_n_pixels": rng.integers(2, 60, n),
                "telescope_pointing_altitude": (alt0 + shift[0]) * u.deg,
                "telescope_pointing_azimuth": (az0 + shift[1]) * u.deg,
            }
        )
        table["hillas_width"][k::17] = 0 * u.deg  # a few invalid images
        tables.append(table)
    return tables, alt0 * u.deg, az0 * u.deg


def ctapipe_reference(subarray, tables, array_alt, array_az):
    """Run the stock HillasReconstructor event by event."""
    reco = HillasReconstructor(subarray)
    out = []
    for i in range(len(tables[0])):
        event = ArrayEventContainer()
        event.trigger.tels_with_trigger = np.array(TEL_IDS)
        event.monitoring.pointing.array_altitude = array_alt[i]
        event.monitoring.pointing.array_azimuth = array_az[i]
        for tel_id, table in zip(TEL_IDS, tables, strict=True):
            row = table[i]
            event.dl1.tel[tel_id].parameters = ImageParametersContainer(
                hillas=HillasParametersContainer(
                    fov_lon=row["hillas_fov_lon"],
                    fov_lat=row["hillas_fov_lat"],
                    psi=row["hillas_psi"],
                    intensity=row["hillas_intensity"],
                    length=row["hillas_length"],
                    width=row["hillas_width"],
                ),
                morphology=MorphologyContainer(n_pixels=row["morphology_n_pixels"]),
            )
            event.monitoring.tel[tel_id].pointing = TelescopePointingContainer(
                altitude=row["telescope_pointing_altitude"],
                azimuth=row["telescope_pointing_azimuth"],
            )
        reco(event)
        geom = event.dl2.stereo.geometry["HillasReconstructor"]
        out.append(
            (
                geom.is_valid,
                geom.alt.to_value(u.deg),
                geom.az.to_value(u.deg),
                geom.core_x.to_value(u.m),
                geom.core_y.to_value(u.m),
                geom.h_max.to_value(u.m),
                *(
                    event.dl2.tel[t].impact["HillasReconstructor"].distance.to_value(u.m)
                    for t in TEL_IDS
                ),
            )
        )
    return np.array(out, dtype=float)


@pytest.mark.parametrize("divergent", [False, True])
def test_same_results_as_hillas_reconstructor(divergent):
    subarray = sst1m_subarray(tel_ids=TEL_IDS)
    tables, array_alt, array_az = random_tables(150, seed=int(divergent), divergent=divergent)
    reference = ctapipe_reference(subarray, tables, array_alt, array_az)
    geometry, impact = TableHillasReconstructor()(
        subarray, TEL_IDS, *tables, array_altitude=array_alt, array_azimuth=array_az
    )
    valid = geometry["HillasReconstructor_is_valid"]
    assert np.array_equal(valid, reference[:, 0].astype(bool))
    assert 60 < valid.sum() < 150  # the quality cuts did remove some events
    ours = np.column_stack(
        [
            geometry["HillasReconstructor_alt"].to_value(u.deg),
            geometry["HillasReconstructor_az"].to_value(u.deg),
            geometry["HillasReconstructor_core_x"].to_value(u.m),
            geometry["HillasReconstructor_core_y"].to_value(u.m),
            geometry["HillasReconstructor_h_max"].to_value(u.m),
            impact[1].to_value(u.m),
            impact[2].to_value(u.m),
        ]
    )
    ref = reference[:, 1:]
    assert np.all(np.isnan(ours[~valid]))
    np.testing.assert_allclose(ours[valid], ref[valid], rtol=1e-6, atol=1e-9)


def test_unit_vectors_to_telescope_inverts_telescope_to_unit_vectors():
    from astropy.coordinates import AltAz, SkyCoord
    from ctapipe.coordinates import TelescopeFrame

    from ctapipe_sst1m.reco.directions import (
        telescope_to_unit_vectors,
        unit_vectors_to_telescope,
    )

    rng = np.random.default_rng(7)
    lon, lat = np.deg2rad(rng.uniform(-5, 5, (2, 50)))
    alt, az = np.deg2rad(rng.uniform(20, 89, 50)), np.deg2rad(rng.uniform(0, 360, 50))
    vectors = telescope_to_unit_vectors(lon, lat, alt, az)
    back_lon, back_lat = unit_vectors_to_telescope(3.0 * vectors, alt, az)  # not normalised
    np.testing.assert_allclose(back_lon, lon, atol=1e-12)
    np.testing.assert_allclose(back_lat, lat, atol=1e-12)
    # and it is astropy's AltAz -> TelescopeFrame transformation
    pointing = SkyCoord(alt=alt[0] * u.rad, az=az[0] * u.rad, frame=AltAz())
    source = SkyCoord(alt=(alt[0] + 0.02) * u.rad, az=(az[0] - 0.03) * u.rad, frame=AltAz())
    expected = source.transform_to(TelescopeFrame(telescope_pointing=pointing))
    x = np.cos(source.alt.rad) * np.cos(source.az.rad)
    y = np.cos(source.alt.rad) * np.sin(source.az.rad)
    got = unit_vectors_to_telescope([x, y, np.sin(source.alt.rad)], alt[0], az[0])
    assert got[0] == pytest.approx(expected.fov_lon.rad, abs=1e-12)
    assert got[1] == pytest.approx(expected.fov_lat.rad, abs=1e-12)

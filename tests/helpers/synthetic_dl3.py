"""Small GADF DL3 data with a known truth, sampled by gammapy from analytic IRFs.

For the unit tests of ``ctapipe_sst1m.analysis`` (the closure test uses the real chain instead):
a point source with a log-parabola spectrum at ``TARGET`` observed in wobble mode
(0.4° north and south), isotropic background from the background IRF, events drawn by
``gammapy.datasets.MapDatasetEventSampler`` through the same effective area, Gaussian PSF
(σ = ``PSF_SIGMA``) and Gaussian energy dispersion that are embedded in each file, and the
index files written by ``gammapy.data.DataStore.from_events_files``. Nothing here is SST-1M
specific: it exercises the analysis code on data whose answer is known exactly.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

TARGET = SkyCoord(83.6331 * u.deg, 22.0145 * u.deg, frame="icrs")
PSF_SIGMA = 0.08 * u.deg
#: injected spectrum (log10 convention, as in ``sst1m-simulate-night``)
TRUTH = {"amplitude": 3.23e-11, "reference_TeV": 1.0, "alpha": 2.47, "beta": 0.24}
#: fraction of the Gaussian PSF inside the RAD_MAX (0.2°) of the point-like files
POINT_CONTAINMENT = 1 - np.exp(-(0.2**2) / (2 * 0.08**2))
LOCATION = EarthLocation(lon=14.782 * u.deg, lat=49.913 * u.deg, height=510 * u.m)


def irfs(point_like=False):
    """Analytic effective area, energy dispersion, PSF and background (gammapy objects)."""
    from gammapy.irf import PSF3D, Background2D, EffectiveAreaTable2D, EnergyDispersion2D
    from gammapy.maps import MapAxis

    e_true = MapAxis.from_energy_bounds(0.1, 300, 30, "TeV", name="energy_true")
    offset = MapAxis.from_bounds(0, 4, 8, unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5, 100, node_type="edges", name="migra")
    rad = MapAxis.from_bounds(0, 1, 200, unit="deg", name="rad")
    e_reco = MapAxis.from_energy_bounds(0.1, 300, 30, "TeV", name="energy")

    e = e_true.center.to_value("TeV")[:, None]
    off = offset.center.to_value("deg")[None, :]
    area = 4e5 * (1 - np.exp(-((e / 1.5) ** 2))) * np.exp(-(off**2) / (2 * 1.5**2))
    aeff = EffectiveAreaTable2D(axes=[e_true, offset], data=area, unit="m2")
    edisp = EnergyDispersion2D.from_gauss(e_true, migra, bias=0, sigma=0.15, offset_axis=offset)
    r = rad.center.to_value("deg")
    sigma = PSF_SIGMA.to_value("deg")
    pdf = np.exp(-(r**2) / (2 * sigma**2)) / (2 * np.pi * np.deg2rad(sigma) ** 2)
    psf = PSF3D(
        axes=[e_true, offset, rad],
        data=np.broadcast_to(pdf, (e_true.nbin, offset.nbin, rad.nbin)).copy(),
        unit="sr-1",
    )
    er = e_reco.center.to_value("TeV")[:, None]
    rate = 5e-5 * er**-2.7 * (1 - np.exp(-((er / 1.0) ** 2))) * np.exp(-(off**2) / (2 * 2.0**2))
    bkg = Background2D(axes=[e_reco, offset], data=rate, unit="s-1 MeV-1 sr-1")
    aeff.meta.update({"TELESCOP": "SYNTHETIC", "INSTRUME": "TOY"})
    out = {"aeff": aeff, "edisp": edisp, "bkg": bkg}
    if point_like:
        from gammapy.irf import RadMax2D

        e_rad = MapAxis.from_energy_bounds(0.1, 300, 4, "TeV", name="energy")
        out["rad_max"] = RadMax2D(
            axes=[e_rad, offset], data=np.full((4, offset.nbin), 0.2), unit="deg"
        )
        # point-like: the effective area holds the containment of the RAD_MAX circle
        out["aeff"] = EffectiveAreaTable2D(
            axes=[e_true, offset], data=area * POINT_CONTAINMENT, unit="m2"
        )
        out["aeff"].meta.update(aeff.meta)
    else:
        out["psf"] = psf
    return out


def truth_model():
    """The injected source as a gammapy ``SkyModel`` named ``source``."""
    from gammapy.modeling.models import (
        LogParabolaSpectralModel,
        PointSpatialModel,
        SkyModel,
    )

    spectral = LogParabolaSpectralModel.from_log10(
        amplitude=TRUTH["amplitude"] * u.Unit("cm-2 s-1 TeV-1"),
        reference=TRUTH["reference_TeV"] * u.TeV,
        alpha=TRUTH["alpha"],
        beta=TRUTH["beta"],
    )
    spatial = PointSpatialModel.from_position(TARGET)
    return SkyModel(spectral_model=spectral, spatial_model=spatial, name="source")


def make_dl3(
    out_dir,
    n_obs=2,
    livetime=1200 * u.s,
    seed=0,
    point_like=False,
    flux_scale=1.0,
    background_scale=1.0,
    n_gti=1,
):
    """Write ``n_obs`` DL3 files (alternating wobbles) and the index files into ``out_dir``.

    Returns the list of event files. ``flux_scale`` multiplies the source amplitude
    (0 gives a source-free field), ``background_scale`` the background rate (in the events
    and in the background IRF alike). ``n_gti`` > 1 splits each observation into that many
    GTI rows ("runs") with 5 s gaps (the events in the gaps are dropped).
    """
    from gammapy.data import DataStore, FixedPointingInfo, Observation
    from gammapy.datasets import MapDataset, MapDatasetEventSampler
    from gammapy.makers import MapDatasetMaker
    from gammapy.maps import MapAxis, WcsGeom
    from gammapy.modeling.models import FoVBackgroundModel, Models

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    response = irfs(point_like)
    reference_time = Time("2024-03-05T00:00:00", scale="tt")
    start = Time("2024-03-05T20:00:00", scale="utc")
    paths = []
    for k in range(n_obs):
        sign = 1 if k % 2 == 0 else -1
        pointing = TARGET.directional_offset_by(0 * u.deg if sign > 0 else 180 * u.deg, 0.4 * u.deg)
        tstart = start + k * (livetime + 60 * u.s)
        obs = Observation.create(
            pointing=FixedPointingInfo(fixed_icrs=pointing),
            location=LOCATION,
            obs_id=1000 + k,
            tstart=tstart,
            tstop=tstart + livetime,
            irfs={**response, **({} if point_like else {"psf": response["psf"]})},
            reference_time=reference_time,
        )
        e_reco = MapAxis.from_energy_bounds(0.3, 200, 25, "TeV")
        e_true = MapAxis.from_energy_bounds(0.2, 250, 25, "TeV", name="energy_true")
        geom = WcsGeom.create(skydir=pointing, width=6 * u.deg, binsz=0.04, axes=[e_reco])
        migra = MapAxis.from_bounds(0.2, 5, 100, node_type="edges", name="migra")
        empty = MapDataset.create(geom, energy_axis_true=e_true, migra_axis=migra, name=f"obs{k}")
        selection = ["exposure", "background", "edisp"] + ([] if point_like else ["psf"])
        dataset = MapDatasetMaker(selection=selection).run(empty, obs)
        models = [FoVBackgroundModel(dataset_name=dataset.name)]
        models[0].spectral_model.norm.value = background_scale
        if flux_scale > 0:
            model = truth_model()
            model.spectral_model.amplitude.value *= flux_scale
            models.append(model)
        dataset.models = Models(models)
        if point_like:
            # the events are drawn with the PSF that the point-like effective area assumes
            from gammapy.irf import PSFMap

            dataset.psf = PSFMap.from_gauss(e_true, sigma=PSF_SIGMA)
        sampler = MapDatasetEventSampler(random_state=seed * 100 + k)
        events = sampler.run(dataset, obs)
        gti = obs.gti
        if n_gti > 1:
            from gammapy.data import GTI

            step = livetime / n_gti
            starts = tstart + step * np.arange(n_gti)
            gti = GTI.create(starts, starts + step - 5 * u.s, reference_time=reference_time)
            t = np.asarray(np.ma.getdata(events.time.tt.mjd))
            keep = np.zeros(len(events.table), bool)
            for t0, t1 in zip(gti.time_start.tt.mjd, gti.time_stop.tt.mjd, strict=True):
                keep |= (t >= t0) & (t < t1)
            events = events.select_row_subset(keep)
        irf = dict(response)
        if background_scale != 1.0:
            bkg = response["bkg"]
            irf["bkg"] = bkg.__class__(axes=bkg.axes, data=bkg.data * background_scale,
                                       unit=bkg.unit, meta=bkg.meta)  # fmt: skip
        obs = Observation(
            obs_id=obs.obs_id,
            pointing=obs.pointing,
            gti=gti,
            events=events,
            meta=obs.meta,
            **irf,
        )
        path = out_dir / f"obs_{obs.obs_id}.fits.gz"
        obs.write(path, overwrite=True)
        paths.append(path)
    store = DataStore.from_events_files(paths, irfs_paths=paths)
    write_hdu_index(paths, out_dir / "hdu-index.fits.gz")
    store.obs_table.write(out_dir / "obs-index.fits.gz", overwrite=True)
    return paths


#: GADF HDU classes of what ``Observation.write`` puts in a file, by extension name
HDU_CLASSES = {
    "EVENTS": ("events", "events"),
    "GTI": ("gti", "gti"),
    "EFFECTIVE AREA": ("aeff", "aeff_2d"),
    "ENERGY DISPERSION": ("edisp", "edisp_2d"),
    "PSF_2D_TABLE": ("psf", "psf_table"),
    "BACKGROUND": ("bkg", "bkg_2d"),
    "RAD_MAX": ("rad_max", "rad_max_2d"),
}


def write_hdu_index(paths, target):
    """hdu-index with paths relative to its directory, one row per HDU of each file."""
    from astropy.io import fits
    from astropy.table import Table

    rows = []
    for path in paths:
        with fits.open(path) as hdul:
            obs_id = hdul["EVENTS"].header["OBS_ID"]
            for hdu in hdul[1:]:
                kind, cls = HDU_CLASSES[hdu.name]
                rel = Path(path).relative_to(Path(target).parent)
                rows.append((obs_id, kind, cls, str(rel.parent), rel.name, hdu.name))
    names = ["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"]
    table = Table(rows=rows, names=names)
    table.meta.update({"HDUCLASS": "GADF", "HDUDOC": "gadf", "HDUVERS": "0.2", "HDUCLAS1": "INDEX",
                       "HDUCLAS2": "HDU"})  # fmt: skip
    table.write(target, overwrite=True)

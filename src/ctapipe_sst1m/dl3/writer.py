"""The HDUs of one DL3 observation: EVENTS, GTI, POINTING, RUNS and the IRFs.

EVENTS columns: ``EVENT_ID`` (k·10¹⁰ + the run's event_id, k = index of the run in the
observation: unique in the file, a one-run observation keeps its ids), ``RUN_ID`` (obs_id of
the run), ``TIME``, ``RA``/``DEC`` (ICRS), ``ENERGY``, ``GAMMANESS``, ``MULTIP``, ``ALT``/``AZ``
(reconstructed), ``DETX``/``DETY``: GADF field-of-view coordinates aligned with the horizon
(``FOVALIGN='ALTAZ'``), as gammapy's ``FoVAltAzFrame``: DETY = offset towards higher
altitude, DETX = offset towards *lower* azimuth (the GADF longitude is reversed).
"""

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..irf.events import INSTRUMENT
from ..reco.sky import horizontal_to_icrs
from ..version import __version__
from .timesys import TIME_HEADER, from_dl3_seconds, utc_strings

__all__ = ["GADF", "fov_altaz", "observation_hdulist", "RUNS_HDU", "EVENT_ID_STRIDE"]

GADF = {
    "HDUCLASS": "GADF",
    "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
    "HDUVERS": "0.2",
}
RUNS_HDU = "SST1M_RUNS"
EVENT_ID_STRIDE = 10**10


def fov_altaz(alt, az, alt_pnt, az_pnt):
    """(DETX, DETY) [deg] of horizontal directions relative to the pointing (GADF, ALTAZ)."""
    alt, az, alt0, az0 = (
        np.deg2rad(np.asarray(v, dtype=np.float64)) for v in (alt, az, alt_pnt, az_pnt)
    )
    daz = az - az0
    x = np.cos(alt) * np.cos(daz) * np.cos(alt0) + np.sin(alt) * np.sin(alt0)
    y = np.cos(alt) * np.sin(daz)
    z = np.sin(alt) * np.cos(alt0) - np.cos(alt) * np.cos(daz) * np.sin(alt0)
    return np.rad2deg(-np.arctan2(y, x)), np.rad2deg(np.arcsin(np.clip(z, -1, 1)))


def _header(cards):
    header = fits.Header()
    for key, value in cards.items():
        if isinstance(value, tuple):
            header[key] = value
        else:
            header[key] = value
    return header


def _site_cards(location):
    geo = location.geodetic
    return {
        "GEOLON": (float(geo.lon.to_value(u.deg)), "[deg] longitude of the site"),
        "GEOLAT": (float(geo.lat.to_value(u.deg)), "[deg] latitude of the site"),
        "ALTITUDE": (float(geo.height.to_value(u.m)), "[m] altitude of the site"),
    }


def _event_columns(obs, events, location):
    time = np.asarray(events["time"], dtype=np.float64)
    ra, dec = horizontal_to_icrs(
        events["reco_alt"] * u.deg, events["reco_az"] * u.deg, from_dl3_seconds(time), location
    )
    detx, dety = fov_altaz(
        events["reco_alt"], events["reco_az"], events["pointing_alt"], events["pointing_az"]
    )
    run_index = {run_id: i for i, run_id in enumerate(obs.run_ids)}
    k = np.array([run_index[int(o)] for o in events["obs_id"]], dtype=np.int64)
    table = Table()
    table["EVENT_ID"] = k * EVENT_ID_STRIDE + np.asarray(events["event_id"], dtype=np.int64)
    table["RUN_ID"] = np.asarray(events["obs_id"], dtype=np.int64)
    table["TIME"] = time * u.s
    table["RA"] = ra.to(u.deg)
    table["DEC"] = dec.to(u.deg)
    table["ENERGY"] = np.asarray(events["reco_energy"], dtype=np.float64) * u.TeV
    table["GAMMANESS"] = np.asarray(events["gh_score"], dtype=np.float64)
    table["MULTIP"] = np.asarray(events["multiplicity"], dtype=np.int16)
    table["ALT"] = np.asarray(events["reco_alt"], dtype=np.float64) * u.deg
    table["AZ"] = np.asarray(events["reco_az"], dtype=np.float64) * u.deg
    table["DETX"] = detx * u.deg
    table["DETY"] = dety * u.deg
    return table


def observation_hdulist(obs, events, info, irfs, embed=True):
    """`~astropy.io.fits.HDUList` of one observation.

    ``events``: the selected events (table of `SST1MDataDL2Reader` columns, time-ordered);
    ``info``: dict with ``target`` (name, SkyCoord), ``deadc``, ``dead_time``, ``n_intervals``,
    ``cos_zenith``/``zenith``/``azimuth`` (mean pointing), ``config_hash`` and, in link mode,
    ``irf_file`` (path of the IRF file relative to the DL3 file).
    """
    run0 = obs.runs[0]
    location = run0.location
    gti = obs.gti
    ontime = obs.ontime
    livetime = ontime * info["deadc"]
    name, target = info["target"]
    tel_ids = run0.tel_ids
    date_obs, time_obs = utc_strings(gti[0, 0])
    date_end, time_end = utc_strings(gti[-1, 1])
    site = _site_cards(location)
    hashes = run0.model_hashes
    cards = {
        **GADF,
        "HDUCLAS1": "EVENTS",
        "OBS_ID": (int(obs.obs_id), "obs_id (YYYYMMDDRRRR) of the first run"),
        "DATE-OBS": (date_obs, "start date (UTC)"),
        "TIME-OBS": (time_obs, "start time (UTC)"),
        "DATE-END": (date_end, "end date (UTC)"),
        "TIME-END": (time_end, "end time (UTC)"),
        "TSTART": (float(gti[0, 0]), "[s] start of the first GTI"),
        "TSTOP": (float(gti[-1, 1]), "[s] end of the last GTI"),
        "TELAPSE": (float(gti[-1, 1] - gti[0, 0]), "[s] TSTOP - TSTART"),
        **TIME_HEADER,
        "ONTIME": (ontime, "[s] sum of the GTIs"),
        "LIVETIME": (livetime, "[s] ONTIME * DEADC"),
        "DEADC": (info["deadc"], "live fraction from the events' time differences"),
        "DEADTIME": (info["dead_time"], "[s] dead time per event used for DEADC"),
        "DEADNINT": (int(info["n_intervals"]), "time differences behind DEADC"),
        "OBS_MODE": "POINTING",
        "OBJECT": name,
        "RA_OBJ": (float(target.ra.deg), "[deg] target RA (ICRS)"),
        "DEC_OBJ": (float(target.dec.deg), "[deg] target Dec (ICRS)"),
        "RA_PNT": (float(run0.wobble.ra.deg), "[deg] nominal pointing RA (ICRS)"),
        "DEC_PNT": (float(run0.wobble.dec.deg), "[deg] nominal pointing Dec (ICRS)"),
        "ALT_PNT": (90.0 - info["zenith"], "[deg] time-weighted mean altitude"),
        "AZ_PNT": (info["azimuth"], "[deg] time-weighted mean azimuth"),
        "ZEN_PNT": (info["zenith"], "[deg] zenith of the mean cos(zenith)"),
        "RADECSYS": "ICRS",
        "EQUINOX": 2000.0,
        "FOVALIGN": "ALTAZ",
        "ORIGIN": "SST-1M",
        "TELESCOP": "SST-1M",
        "INSTRUME": INSTRUMENT[obs.tel_setup],
        "TELSETUP": obs.tel_setup,
        "TELLIST": ",".join(str(t) for t in tel_ids),
        "N_TELS": len(tel_ids),
        **site,
        "EUNIT": "TeV",
        "CREATOR": f"ctapipe-sst1m v{__version__}",
        "N_RUNS": (len(obs.runs), f"runs of the observation (HDU {RUNS_HDU})"),
        "CFGHASH": (info["config_hash"], "SHA-256[:16] of the tool configuration"),
        "E_SHA256": hashes.get("energy", "unknown"),
        "D_SHA256": hashes.get("disp", "unknown"),
        "C_SHA256": hashes.get("classifier", "unknown"),
        **irfs.header,
    }
    if not embed:
        cards["IRF_FILE"] = (info["irf_file"], "IRF file (linked), relative to this file")
    table = _event_columns(obs, events, location)
    hdus = [fits.PrimaryHDU()]
    hdu_events = fits.BinTableHDU(table, header=_header(cards), name="EVENTS")
    hdus.append(hdu_events)
    common = {**GADF, **TIME_HEADER, **site}
    gti_table = Table({"START": gti[:, 0] * u.s, "STOP": gti[:, 1] * u.s})
    hdus.append(
        fits.BinTableHDU(
            gti_table,
            header=_header({**common, "HDUCLAS1": "GTI", "OBS_ID": int(obs.obs_id)}),
            name="GTI",
        )
    )
    t, alt, az = obs.pointing_samples()
    pointing = Table(
        {
            "TIME": t * u.s,
            "RA_PNT": np.full(len(t), run0.wobble.ra.deg) * u.deg,
            "DEC_PNT": np.full(len(t), run0.wobble.dec.deg) * u.deg,
            "ALT_PNT": alt * u.deg,
            "AZ_PNT": (az % 360) * u.deg,
        }
    )
    pnt_cards = {**common, "HDUCLAS1": "POINTING", "OBS_ID": int(obs.obs_id), "RADECSYS": "ICRS"}
    hdus.append(fits.BinTableHDU(pointing, header=_header(pnt_cards), name="POINTING"))
    runs = Table(
        {
            "OBS_ID": np.array(obs.run_ids, dtype=np.int64),
            "TSTART": np.array([r.start for r in obs.runs]) * u.s,
            "TSTOP": np.array([r.stop for r in obs.runs]) * u.s,
            "N_TRIG": np.array([len(r.trigger_times) for r in obs.runs], dtype=np.int64),
            "FILE": [str(r.path).split("/")[-1] for r in obs.runs],
        }
    )
    hdus.append(
        fits.BinTableHDU(
            runs, header=_header({"OBS_ID": int(obs.obs_id), **TIME_HEADER}), name=RUNS_HDU
        )
    )
    if embed:
        for hdu in irfs.hdus:
            hdu.header["OBS_ID"] = int(obs.obs_id)
            hdus.append(hdu)
    return fits.HDUList(hdus)

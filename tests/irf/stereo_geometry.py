"""Add the two-telescope stereo geometry to a toy MC DL1 file (what ctapipe-process does).

`ctapipe-process --ShowerProcessor.reconstructor_types=HillasReconstructor` costs ~13 ms per
event through astropy frames; the package's vectorised
`~ctapipe_sst1m.stereo.geometry.TableHillasReconstructor` (same algorithm, agrees to 1e-10)
writes the same tables (``/dl2/event/subarray/geometry/HillasReconstructor`` and the
per-telescope impact) in well under a second, which keeps the IRF session fixture small.
"""

import shutil

import astropy.units as u
import numpy as np
from astropy.table import Table
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import read_table, write_table

from ctapipe_sst1m.stereo.geometry import TableHillasReconstructor

PREFIX = "HillasReconstructor"


def add_stereo_geometry(source, output):
    """Copy ``source`` to ``output`` and add the HillasReconstructor geometry tables."""
    shutil.copy(source, output)
    subarray = SubarrayDescription.from_hdf(source)
    tel_ids = tuple(sorted(subarray.tel_ids))
    trig = read_table(source, "/dl1/event/subarray/trigger")
    n = len(trig)
    params = {}
    for t in tel_ids:
        p = read_table(source, f"/dl1/event/telescope/parameters/tel_{t:03d}")
        pointing = read_table(source, f"/configuration/telescope/pointing/tel_{t:03d}")
        p["telescope_pointing_altitude"] = u.Quantity(
            np.full(len(p), pointing["telescope_pointing_altitude"].quantity[0].to_value(u.deg)),
            u.deg,
        )
        p["telescope_pointing_azimuth"] = u.Quantity(
            np.full(len(p), pointing["telescope_pointing_azimuth"].quantity[0].to_value(u.deg)),
            u.deg,
        )
        params[t] = p
    order = list(subarray.tel_ids)
    both = np.all([trig["tels_with_trigger"][:, order.index(t)] for t in tel_ids], axis=0)
    ids = np.asarray(trig["event_id"])[both]
    rows = [params[t][np.searchsorted(np.asarray(params[t]["event_id"]), ids)] for t in tel_ids]
    geometry, impact = TableHillasReconstructor()(subarray, tel_ids, *rows)
    out = Table({"obs_id": trig["obs_id"], "event_id": trig["event_id"]})
    for name in geometry.colnames:
        if name in ("obs_id", "event_id") or not name.startswith(PREFIX):
            continue
        col = geometry[name]
        if name.endswith("_telescopes"):
            continue
        if hasattr(col, "unit") and col.unit is not None:
            full = u.Quantity(np.full(n, np.nan), col.unit)
        elif np.asarray(col).dtype == bool:
            full = np.zeros(n, dtype=bool)
        else:
            full = np.full(n, np.nan)
        full[both] = col
        out[name] = full
    valid = np.zeros(n, dtype=bool)
    valid[both] = np.asarray(geometry[f"{PREFIX}_is_valid"])
    mask = np.zeros((n, len(order)), dtype=bool)
    for t in tel_ids:
        mask[:, order.index(t)] = valid
    out[f"{PREFIX}_telescopes"] = mask
    write_table(out, output, f"/dl2/event/subarray/geometry/{PREFIX}", overwrite=True)
    for t in tel_ids:
        has = trig["tels_with_trigger"][:, order.index(t)]
        dist = np.full(n, np.nan)
        dist[both] = impact[t].to_value(u.m)
        tab = Table(
            {
                "obs_id": trig["obs_id"][has],
                "event_id": trig["event_id"][has],
                "tel_id": np.full(int(has.sum()), t, dtype=np.int16),
                f"{PREFIX}_tel_impact_distance": u.Quantity(dist[has], u.m),
                f"{PREFIX}_tel_impact_distance_uncert": u.Quantity(np.full(has.sum(), np.nan), u.m),
            }
        )
        write_table(
            tab, output, f"/dl2/event/telescope/impact/{PREFIX}/tel_{t:03d}", overwrite=True
        )
    return output

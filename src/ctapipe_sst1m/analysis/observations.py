"""Observations of one or more DL3 index directories, selected and read one at a time.

`ObservationSelection` opens every ``INDEX_DIR`` with gammapy's ``DataStore.from_dir``, keeps
the observations whose pointing lies within ``max_offset`` of the target (and the given
``obs_ids``, and those with no run flagged bad in a good-run table), sorts them by TSTART
and yields one gammapy ``Observation`` at a time, so that nothing accumulates in memory.
It also decides the IRF type (point-like if every selected observation has a RAD_MAX HDU
and no PSF).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity

from ..core.errors import SST1MInputError

__all__ = ["ObservationSelection", "run_ids"]

RUNS_HDU = "SST1M_RUNS"


def run_ids(path, obs_id):
    """obs_id of every run of a DL3 file (its ``SST1M_RUNS`` HDU), else ``[obs_id]``."""
    with fits.open(path) as hdul:
        if RUNS_HDU in hdul:
            return [int(x) for x in hdul[RUNS_HDU].data["OBS_ID"]]
    return [int(obs_id)]


class ObservationSelection(Component):
    """Which observations of the index directories enter the analysis."""

    max_offset = AstroQuantity(
        default_value=2.5 * u.deg,
        physical_type=u.physical.angle,
        help="Observations pointing further than this from the target are left out.",
    ).tag(config=True)

    def __init__(self, index_dirs, target, obs_ids=None, good_runs=None, **kwargs):
        super().__init__(**kwargs)
        from gammapy.data import DataStore

        self.entries = []  # (tstart, obs_id, store)
        self.stores = []
        wanted = None if not obs_ids else {int(o) for o in obs_ids}
        seen = set()
        for index_dir in index_dirs:
            index_dir = Path(index_dir)
            if not (index_dir / "obs-index.fits.gz").is_file():
                raise SST1MInputError(
                    f"{index_dir}: no obs-index.fits.gz; give an index directory written by"
                    " sst1m-dl2-dl3 or sst1m-create-index"
                )
            store = DataStore.from_dir(index_dir)
            self.stores.append((index_dir, store))
            table = store.obs_table
            pointing = SkyCoord(table["RA_PNT"], table["DEC_PNT"], unit="deg", frame="icrs")
            offsets = pointing.separation(target)
            for row, offset in zip(table, offsets, strict=True):
                obs_id = int(row["OBS_ID"])
                if wanted is not None and obs_id not in wanted:
                    continue
                if obs_id in seen:
                    raise SST1MInputError(
                        f"{index_dir}: observation {obs_id} is also in another index directory"
                    )
                if offset > self.max_offset:
                    self.log.info("obs %d: %.2f from the target, left out", obs_id, offset)
                    continue
                path = self._events_file(store, obs_id)
                if good_runs is not None:
                    setup = str(row["TELSETUP"]) if "TELSETUP" in table.colnames else "stereo"
                    bad = good_runs.bad_runs(run_ids(path, obs_id), setup)
                    if bad:
                        self.log.info("obs %d left out: bad runs %s", obs_id, bad)
                        continue
                seen.add(obs_id)
                self.entries.append((float(row["TSTART"]), obs_id, store, path))
        if wanted is not None and wanted - seen and not good_runs:
            missing = ", ".join(str(o) for o in sorted(wanted - seen))
            self.log.warning("observations not found or too far from the target: %s", missing)
        if not self.entries:
            dirs = ", ".join(str(d) for d in index_dirs)
            raise SST1MInputError(
                f"{dirs}: no observation within {self.max_offset} of the target passes the"
                " selection; check --target/--ra/--dec, --obs-ids and the good-run table"
            )
        self.entries.sort(key=lambda e: (e[0], e[1]))

    @staticmethod
    def _events_file(store, obs_id):
        location = store.hdu_table.hdu_location(obs_id=obs_id, hdu_type="events")
        return location.path()

    @property
    def obs_ids(self):
        return [e[1] for e in self.entries]

    @property
    def event_files(self):
        """obs_id → DL3 file."""
        return {e[1]: e[3] for e in self.entries}

    def has_hdu(self, obs_id, hdu_type):
        store = next(e[2] for e in self.entries if e[1] == obs_id)
        rows = store.hdu_table
        return bool(np.any((rows["OBS_ID"] == obs_id) & (rows["HDU_TYPE"] == hdu_type)))

    @property
    def point_like(self):
        """True if every selected observation has RAD_MAX and no PSF."""
        return all(self.has_hdu(o, "rad_max") and not self.has_hdu(o, "psf") for o in self.obs_ids)

    def __iter__(self):
        required = "point-like" if self.point_like else "full-enclosure"
        for _, obs_id, store, _ in self.entries:
            yield store.obs(obs_id, required_irf=required)

    def __len__(self):
        return len(self.entries)

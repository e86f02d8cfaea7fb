"""The good-run table of ``sst1m-data-quality`` and the exclusion of observations.

An ECSV or FITS table with the columns ``obs_id`` (run obs_id), ``tel_setup`` (``tel_021``,
``tel_022`` or ``stereo``), ``good`` (bool) and ``flags`` (reasons joined by "; "); other columns
are ignored. An observation is excluded when one of its runs is ``good == False`` for the
observation's telescope setup; runs without a row count as good (and are logged).
"""

import logging

import numpy as np
from astropy.table import Table

from ..core.errors import SST1MInputError

__all__ = ["GoodRuns", "read_good_runs", "REQUIRED_COLUMNS"]

REQUIRED_COLUMNS = ("obs_id", "tel_setup", "good", "flags")
log = logging.getLogger(__name__)


class GoodRuns:
    """Look-up of the good-run flags: ``(obs_id, tel_setup) -> (good, flags)``."""

    def __init__(self, table, source="good-run table"):
        missing = [c for c in REQUIRED_COLUMNS if c not in table.colnames]
        if missing:
            raise SST1MInputError(
                f"{source}: missing column(s) {', '.join(missing)}; a good-run table needs"
                f" {', '.join(REQUIRED_COLUMNS)} (sst1m-data-quality writes it)"
            )
        self.source = str(source)
        self.flags = {}
        for row in table:
            good = row["good"]
            good = (
                str(good).strip().lower() in ("true", "1") if isinstance(good, str) else bool(good)
            )
            flags = "" if np.ma.is_masked(row["flags"]) else str(row["flags"])
            self.flags[(int(row["obs_id"]), str(row["tel_setup"]).strip())] = (good, flags)

    def bad_runs(self, run_ids, tel_setup):
        """{run obs_id: flags} of the runs flagged bad for ``tel_setup``."""
        bad = {}
        for run in run_ids:
            entry = self.flags.get((int(run), tel_setup))
            if entry is None:
                log.info("%s: run %d (%s) has no row; counted as good", self.source, run, tel_setup)
            elif not entry[0]:
                bad[int(run)] = entry[1]
        return bad


def read_good_runs(path):
    """`GoodRuns` of an ECSV or FITS file."""
    try:
        name = str(path)
        fmt = "ascii.ecsv" if name.endswith(".ecsv") else None
        table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except (OSError, ValueError) as err:
        raise SST1MInputError(f"{path}: not a readable good-run table ({err})") from None
    return GoodRuns(table, source=path)

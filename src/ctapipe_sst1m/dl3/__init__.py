"""DL2 → DL3 of observed SST-1M data: observations, livetime, IRFs, GADF files and indexes.

* :mod:`.events` — observed DL2 runs (`SST1MDataDL2Reader`, `read_runs`);
* :mod:`.observations` — runs grouped into wobbles (`ObservationGrouper`);
* :mod:`.livetime` — dead time from the events' time differences;
* :mod:`.irf_interpolation` — IRFs from the bank in cos(zenith) with pyirf;
* :mod:`.maker`, :mod:`.writer` — cuts of the IRFs, EVENTS/GTI/POINTING/IRF HDUs;
* :mod:`.index`, :mod:`.good_runs` — ``hdu-index``/``obs-index`` and the good-run table;
* :mod:`.timesys` — the time system (TT seconds since 2001-01-01 00:00:00 TT).
"""

from .good_runs import GoodRuns, read_good_runs
from .index import dl3_files, runs_of, write_index

__all__ = ["GoodRuns", "dl3_files", "read_good_runs", "runs_of", "write_index"]

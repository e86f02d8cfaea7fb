"""IRFs, cuts and performance of SST-1M from MC DL2 (built on ctapipe.irf and pyirf).

* :mod:`.events` — `SST1MDL2EventReader`: chunked MC DL2 reading (mono or stereo, DL2 of
  ``sst1m-dl1-dl2`` or stock ``ctapipe-apply-models``), the columns pyirf needs;
* :mod:`.spectra` — target spectra (DAMPE p+He included) and the SST-1M simulated-event
  bookkeeping (shower reuse, energy floor);
* :mod:`.cuts`, :mod:`.optimize`, :mod:`.selection` — cut semantics, energy-dependent cut
  tables, the cuts file (ctapipe ``OptimizationResult``) and its application;
* :mod:`.response` — IRFs accumulated chunk by chunk with pyirf, GADF HDUs;
* :mod:`.bank` — the IRF bank layout, header cards and listing;
* :mod:`.performance`, :mod:`.benchmarks`, :mod:`.plotting` — resolution, ROC, sensitivity and
  the figures with the published SST-1M values.
"""

from .bank import irf_file_name, list_bank, node_name
from .cuts import efficiency_gh_cuts, global_cut_mask, table_cut_mask
from .events import INSTRUMENT, SST1MDL2EventReader
from .optimize import SST1MCutOptimizer
from .response import IrfAccumulator
from .selection import EventSelection
from .spectra import TARGET_SPECTRA, simulation_info

__all__ = [
    "INSTRUMENT",
    "TARGET_SPECTRA",
    "EventSelection",
    "IrfAccumulator",
    "SST1MCutOptimizer",
    "SST1MDL2EventReader",
    "efficiency_gh_cuts",
    "global_cut_mask",
    "irf_file_name",
    "list_bank",
    "node_name",
    "simulation_info",
    "table_cut_mask",
]

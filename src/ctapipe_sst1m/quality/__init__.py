"""Data quality and run selection: per-run metrics, the DQ table and the night summary.

* :mod:`.events` — compact per-run event arrays read chunk by chunk from DL1/DL2 files;
* :mod:`.metrics` — zenith, livetime, rates, pedestal NSB, White-Rabbit Δt, Moon (`RunMetrics`);
* :mod:`.cosmic_rate` — the light-yield proxy from the cosmic-ray intensity spectrum against
  simulated protons at the same zenith (`CosmicRayRate`);
* :mod:`.moon` — Moon altitude, separation and illumination (astropy, offline);
* :mod:`.criteria` — configurable limits, ``good`` and ``flags`` (`QualityCriteria`);
* :mod:`.table` — the DQ table (ECSV/FITS) and `good_obs_ids`;
* :mod:`.dq` — `DataQualityMaker`, the three parts together;
* :mod:`.theta2`, :mod:`.night`, :mod:`.figures`, :mod:`.summary_pages` — the night summary.
"""

from .cosmic_rate import CosmicRayRate, LightYieldFit, fit_light_yield
from .criteria import QualityCriteria
from .dq import DataQualityMaker
from .metrics import RunMetrics
from .moon import moon_geometry
from .table import good_obs_ids, read_dq_table, write_dq_table

__all__ = [
    "CosmicRayRate",
    "DataQualityMaker",
    "LightYieldFit",
    "QualityCriteria",
    "RunMetrics",
    "fit_light_yield",
    "good_obs_ids",
    "moon_geometry",
    "read_dq_table",
    "write_dq_table",
]

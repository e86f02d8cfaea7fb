"""MC productions as one configured, reproducible workflow (``sst1m-mc-production``).

* :mod:`.config`: the production configuration (nodes, inputs, stages) and its checks;
* :mod:`.plan`: the task graph dl1 → merge → train → dl2 → cuts → irf → performance;
* :mod:`.layout`: the production directory (model bank, IRF bank, performance, record);
* :mod:`.report`: the one-page summary.
"""

from .config import (
    Production,
    ProductionConfigError,
    ProductionDefinition,
    ProductionStages,
    SimTelSamples,
    ToyMCSamples,
    load_production,
    production_from_config,
)
from .layout import ProductionLayout, record_production
from .plan import STAGES, Plan, derived_seed, plan_production, select_stages

__all__ = [
    "STAGES",
    "Plan",
    "Production",
    "ProductionConfigError",
    "ProductionDefinition",
    "ProductionLayout",
    "ProductionStages",
    "SimTelSamples",
    "ToyMCSamples",
    "derived_seed",
    "load_production",
    "plan_production",
    "production_from_config",
    "record_production",
    "select_stages",
]

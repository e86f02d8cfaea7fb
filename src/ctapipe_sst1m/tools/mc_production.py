"""sst1m-mc-production: an MC production (models, MC DL2, cuts, IRFs, performance) in one command.

Argument wiring only. The production file (``-c PRODUCTION.yaml``, sections
``ProductionDefinition``, ``ToyMCSamples`` or ``SimTelSamples``, ``ProductionStages``) is checked
by :mod:`ctapipe_sst1m.production.config`, turned into a task graph by
:mod:`ctapipe_sst1m.production.plan` (dl1 → merge → train → dl2 → cuts → irf → performance per
node) and run on the Dask engine of ``sst1m-nightly`` (:mod:`ctapipe_sst1m.orchestration`): local
worker processes by default, Slurm/PBS through dask-jobqueue, resumable through the manifest.
Layout of ``--output-dir`` (:mod:`ctapipe_sst1m.production.layout`)::

    PROD/production.yaml   resolved configuration, package version, input hashes
    PROD/models/<node>/    the model bank of sst1m-dl1-dl2
    PROD/irf/              the IRF bank of sst1m-dl2-dl3 (listing in irf/bank.ecsv)
    PROD/performance/<node>/, PROD/summary.md, PROD/manifest.json, PROD/logs/
"""

import sys
from pathlib import Path

from ctapipe.core import ToolConfigurationError
from ctapipe.core.traits import Path as PathTrait

from ..orchestration import WorkflowTool
from ..production import (
    STAGES,
    ProductionDefinition,
    ProductionLayout,
    ProductionStages,
    SimTelSamples,
    ToyMCSamples,
    plan_production,
    production_from_config,
    record_production,
    select_stages,
)
from ..production.layout import write_stage_config
from ..production.report import write_summary

__all__ = ["MCProductionTool", "main"]


class MCProductionTool(WorkflowTool):
    """Run an SST-1M MC production described by one configuration file."""

    name = "sst1m-mc-production"
    description = __doc__
    examples = """
    sst1m-mc-production -c production_toy.yaml --output-dir PROD --workers 2
    sst1m-mc-production -c production_simtel.yaml --output-dir PROD --dry-run
    sst1m-mc-production -c production.yaml --output-dir PROD --stages irf,performance
    sst1m-mc-production -c production.yaml --output-dir PROD --scheduler slurm --workers 50 \\
        --ClusterFactory.queue=short --ClusterFactory.walltime=02:00:00
    """
    all_stages = STAGES

    output_dir = PathTrait(
        None,
        allow_none=True,
        file_ok=False,
        help="Production directory (created if missing; a re-run resumes what is not done).",
    ).tag(config=True)

    aliases = {
        **WorkflowTool.aliases,
        ("o", "output-dir"): "MCProductionTool.output_dir",
    }
    flags = WorkflowTool.flags
    classes = [
        *WorkflowTool.classes,
        ProductionDefinition,
        ToyMCSamples,
        SimTelSamples,
        ProductionStages,
    ]

    def setup(self):
        if not self.config_files:
            raise ToolConfigurationError("give the production file: -c PRODUCTION.yaml")
        if self.output_dir is None:
            raise ToolConfigurationError("give the production directory: --output-dir PROD")
        source = ", ".join(str(p) for p in self.config_files)
        base_dir = Path(self.config_files[-1]).expanduser().absolute().parent
        self.production = production_from_config(self.config, source=source, base_dir=base_dir)
        self.layout = ProductionLayout(self.output_dir)
        self.plan = plan_production(self.production, self.layout.root)
        self.tasks = select_stages(self.plan.tasks, self.selected_stages())

    def start(self):
        record_production(self.layout, self.production, self.overwrite, self.dry_run)
        if not self.dry_run:
            for path, content in self.plan.configs.items():
                write_stage_config(path, content)
        meta = {
            "command": " ".join(sys.argv),
            "production": self.production.name,
            "stages": list(self.selected_stages()),
        }
        try:
            self.run_tasks(self.tasks, self.layout.manifest, meta=meta)
        finally:
            if not self.dry_run:
                summary = write_summary(self.layout, self.production)
                self.log.info("summary written to %s", summary)


def main():
    MCProductionTool().run()


if __name__ == "__main__":
    main()

"""`WorkflowTool`: the options and the run step shared by the workflow commands.

Base class of ``sst1m-nightly`` and ``sst1m-mc-production``::

    class NightlyTool(WorkflowTool):
        all_stages = ("r0_dl1", "stereo", "dl2", "dl3", "index", "quality")
        aliases = {**WorkflowTool.aliases, ...}
        flags = {**WorkflowTool.flags, ...}

        def start(self):
            tasks = [t for t in build_my_tasks() if t.stage in self.selected_stages()]
            self.run_tasks(tasks, manifest_path, meta={...})

Options: ``--workers N`` (``ClusterFactory.n_workers``), ``--scheduler {local,slurm,pbs,ADDRESS}``
(``ClusterFactory.scheduler``; the batch options are the other ``ClusterFactory`` traits),
``--stages a,b`` (default: all), ``--dry-run``, ``--retry-failed``, ``--overwrite``.
:meth:`WorkflowTool.run_tasks` prints the plan (dry run) or the one-screen summary and ends the
command with exit status 1 when a task did not succeed (2 for a configuration error, 130 when
interrupted).
"""

from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, List, Unicode, flag

from ..core import SST1MTool
from .cluster import ClusterFactory
from .engine import run_workflow
from .summary import format_plan

__all__ = ["WorkflowTool"]


class WorkflowTool(SST1MTool, Tool):
    """Base of the commands that run a graph of ``sst1m-*`` commands on Dask."""

    #: stage names of the workflow, in processing order (set by each subclass)
    all_stages = ()

    stages = List(
        Unicode(),
        default_value=[],
        help="Stages to run (comma-separated on the command line); empty: every stage.",
    ).tag(config=True)
    dry_run = Bool(
        False, help="Print the tasks (inputs, outputs, why they would run) and run nothing."
    ).tag(config=True)
    retry_failed = Bool(
        False, help="Run again the tasks that failed in an earlier run (otherwise kept failed)."
    ).tag(config=True)
    overwrite = Bool(
        False, help="Run every task again, even those whose products are up to date."
    ).tag(config=True)

    aliases = {
        "workers": "ClusterFactory.n_workers",
        "scheduler": "ClusterFactory.scheduler",
        "stages": "WorkflowTool.stages",
        ("c", "config"): "Tool.config_files",
    }
    flags = {
        **flag(
            "dry-run", "WorkflowTool.dry_run", "Only print the plan.", "Run the tasks (default)."
        ),
        **flag(
            "retry-failed",
            "WorkflowTool.retry_failed",
            "Re-run recorded failures.",
            "Keep recorded failures (default).",
        ),
        **flag(
            "overwrite",
            "WorkflowTool.overwrite",
            "Redo every task.",
            "Redo only what is missing or stale (default).",
        ),
    }
    classes = [ClusterFactory]

    def selected_stages(self):
        """The stages to run, checked against ``all_stages`` (one-line error otherwise)."""
        wanted = []
        for item in self.stages:
            wanted += [s.strip() for s in item.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in self.all_stages]
        if unknown:
            raise ToolConfigurationError(
                f"--stages: unknown stage {', '.join(unknown)}; "
                f"choose among {','.join(self.all_stages)}"
            )
        return tuple(s for s in self.all_stages if not wanted or s in wanted)

    def cluster_factory(self):
        """The configured :class:`ClusterFactory` (a child component of the tool)."""
        return ClusterFactory(parent=self)

    def run_tasks(self, tasks, manifest_path, meta=None, client_factory=None):
        """Run (or with ``--dry-run`` list) ``tasks``; print the summary; exit 1 on failure."""
        summary = run_workflow(
            tasks,
            manifest_path,
            client_factory=client_factory or self.cluster_factory(),
            retry_failed=self.retry_failed,
            dry_run=self.dry_run,
            overwrite=self.overwrite,
            meta=meta,
            log=self.log,
        )
        print(format_plan(summary) if self.dry_run else summary.format(), flush=True)
        self.summary = summary
        if summary.exit_code and not self.dry_run:
            raise SystemExit(summary.exit_code)
        return summary

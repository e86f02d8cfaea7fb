"""Workflows of ``sst1m-*`` commands on Dask distributed: the engine of ``sst1m-nightly`` and
``sst1m-mc-production``.

* :class:`Task` (:mod:`.tasks`): one command with inputs, outputs, log and configuration;
* :func:`run_workflow` (:mod:`.engine`): run a task graph resumably, record it in a
  :class:`Manifest` (:mod:`.manifest`), return a :class:`WorkflowSummary`;
* :class:`ClusterFactory` (:mod:`.cluster`): LocalCluster, Slurm/PBS via dask-jobqueue, or a
  running scheduler;
* :class:`WorkflowTool` (:mod:`.workflow_tool`): the options every workflow command shares;
* :mod:`.night_plan`: the task graph of one observation night.
"""

from .cluster import ClusterFactory
from .engine import WorkflowSummary, execute, plan_status, run_workflow
from .manifest import Manifest, path_state
from .summary import format_plan, format_status, format_summary
from .tasks import Task, TaskGraphError, check_graph, config_copy_path
from .workflow_tool import WorkflowTool

__all__ = [
    "ClusterFactory",
    "Manifest",
    "Task",
    "TaskGraphError",
    "WorkflowSummary",
    "WorkflowTool",
    "check_graph",
    "config_copy_path",
    "execute",
    "format_plan",
    "format_status",
    "format_summary",
    "path_state",
    "plan_status",
    "run_workflow",
]

"""Where the tasks run: an embedded ``LocalCluster``, a Slurm or PBS farm, or a running scheduler.

:class:`ClusterFactory` is a ctapipe ``Component``; calling it returns a context manager that
yields a ``distributed.Client`` and closes what it started::

    with ClusterFactory(scheduler="local", n_workers=2)() as client: ...

``scheduler``:

``local``
    ``distributed.LocalCluster`` with ``n_workers`` worker processes of one thread each (every
    task is one subprocess; nothing to install or start).
``slurm`` / ``pbs``
    ``dask_jobqueue.SLURMCluster`` / ``PBSCluster``: each batch job runs ``processes`` worker
    processes on ``cores`` cores with ``memory``, for ``walltime``, in ``queue`` (partition)
    charged to ``account``; ``n_workers`` workers in total (``ceil(n_workers / processes)``
    jobs). ``job_extra_directives`` and ``job_script_prologue`` (e.g. activating the
    environment) go into the generated job script, which :meth:`ClusterFactory.job_script` shows
    without submitting anything.
an address (``tcp://host:8786``)
    An existing scheduler (``dask scheduler`` + ``dask worker`` started by hand).
"""

import math
from contextlib import contextmanager

from ctapipe.core import Component
from ctapipe.core.traits import Dict, Int, List, Unicode

from ..core.errors import SST1MInputError

__all__ = ["ClusterFactory", "SCHEDULERS"]

SCHEDULERS = ("local", "slurm", "pbs")


class ClusterFactory(Component):
    """Start (or connect to) the Dask cluster that runs a workflow's tasks."""

    scheduler = Unicode(
        "local",
        help=(
            "Where tasks run: 'local' (worker processes on this machine), 'slurm' or 'pbs' "
            "(batch jobs through dask-jobqueue), or the address of a running Dask scheduler "
            "(e.g. 'tcp://host:8786')."
        ),
    ).tag(config=True)
    n_workers = Int(
        2,
        min=1,
        help="Number of worker processes; each runs one task (one command) at a time.",
    ).tag(config=True)
    queue = Unicode(
        None, allow_none=True, help="Batch queue (PBS) or partition (Slurm) of the jobs."
    ).tag(config=True)
    account = Unicode(
        None, allow_none=True, help="Account (project) the batch jobs are charged to."
    ).tag(config=True)
    cores = Int(1, min=1, help="Cores requested per batch job.").tag(config=True)
    processes = Int(
        1, min=1, help="Worker processes per batch job (each with cores/processes cores)."
    ).tag(config=True)
    memory = Unicode("4GB", help="Memory requested per batch job (e.g. '4GB').").tag(config=True)
    walltime = Unicode("04:00:00", help="Wall-time limit of each batch job (HH:MM:SS).").tag(
        config=True
    )
    job_extra_directives = List(
        Unicode(),
        help="Extra scheduler directives, one per entry (e.g. '--qos=normal' or '-l mem=8gb').",
    ).tag(config=True)
    job_script_prologue = List(
        Unicode(),
        help="Shell lines run in each job before the worker starts (e.g. activating the venv).",
    ).tag(config=True)
    log_directory = Unicode(
        None, allow_none=True, help="Directory for the batch jobs' own stdout/stderr files."
    ).tag(config=True)
    local_directory = Unicode(
        None, allow_none=True, help="Scratch directory of the workers (default: Dask's)."
    ).tag(config=True)
    interface = Unicode(
        None, allow_none=True, help="Network interface the workers and scheduler use (e.g. ib0)."
    ).tag(config=True)
    extra_options = Dict(
        help="Further keyword arguments for the dask-jobqueue cluster class, passed unchanged."
    ).tag(config=True)

    def __call__(self):
        """A context manager yielding a connected ``distributed.Client``."""
        return self._client()

    @contextmanager
    def _client(self):
        from distributed import Client

        if self.scheduler in SCHEDULERS:
            with self.make_cluster() as cluster, Client(cluster) as client:
                if self.scheduler != "local":
                    cluster.scale(n=self.n_workers)
                yield client
        else:
            with Client(self.scheduler) as client:
                yield client

    def make_cluster(self):
        """The cluster object of ``scheduler`` (local, slurm, pbs); no batch job is submitted."""
        if self.scheduler == "local":
            from distributed import LocalCluster

            return LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: several clusters may share a host
                memory_limit=0,  # the work is in the subprocesses, not in the worker
                local_directory=self.local_directory,
            )
        if self.scheduler not in SCHEDULERS:
            raise SST1MInputError(
                f"scheduler {self.scheduler!r} has no cluster object; "
                "use local, slurm or pbs, or connect to it as an address"
            )
        import dask_jobqueue

        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[self.scheduler]
        options = {
            "cores": self.cores,
            "processes": self.processes,
            "memory": self.memory,
            "walltime": self.walltime,
            "queue": self.queue,
            "account": self.account,
            "job_extra_directives": list(self.job_extra_directives),
            "job_script_prologue": list(self.job_script_prologue),
            "log_directory": self.log_directory,
            "local_directory": self.local_directory,
            "interface": self.interface,
            "scheduler_options": {"dashboard_address": ":0"},
            **self.extra_options,
        }
        return cls(**{k: v for k, v in options.items() if v is not None})

    def n_jobs(self):
        """Number of batch jobs for ``n_workers`` workers."""
        return math.ceil(self.n_workers / self.processes)

    def job_script(self):
        """The batch script dask-jobqueue would submit (``slurm``/``pbs``), nothing submitted."""
        if self.scheduler not in ("slurm", "pbs"):
            raise SST1MInputError(f"scheduler {self.scheduler!r} submits no job script")
        with self.make_cluster() as cluster:
            return cluster.job_script()

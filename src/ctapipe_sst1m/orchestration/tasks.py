"""The unit of work of a workflow: one command with its inputs, outputs, log and configuration.

A :class:`Task` is a plain, frozen description (picklable, sent as is to a Dask worker). The
engine (:mod:`.engine`) runs ``command`` as a subprocess; it never imports the command's code.
:func:`check_graph` validates a list of tasks before anything runs and returns them in an order
where every task comes after the tasks it depends on.
"""

from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import SST1MInputError

__all__ = ["Task", "TaskGraphError", "check_graph", "config_copy_path"]


class TaskGraphError(SST1MInputError):
    """The task list is not a valid graph (duplicate key or output, unknown dependency, cycle)."""


def _paths(values):
    return tuple(v if isinstance(v, Path) else Path(v) for v in values)


@dataclass(frozen=True)
class Task:
    """One step of a workflow.

    Attributes
    ----------
    key : str
        Unique name, e.g. ``"r0_dl1/SST1M1_20240305_0001"`` (also the Dask key).
    stage : str
        Stage the task belongs to (``r0_dl1``, ``stereo``, ``dl2``, ``dl3``, ``index``,
        ``quality``, ``train``, ``irf`` …); ``--stages`` selects by it.
    command : tuple of str
        The argv of the command (``sst1m-*`` or ``ctapipe-*``), run as a subprocess.
    inputs : tuple of Path
        Files or directories the command reads; recorded (size, mtime) in the manifest, so that
        a changed input makes the product stale.
    outputs : tuple of Path
        Products the command writes; the task is done only if all exist afterwards.
    log : Path
        File receiving the command's standard output and error (next to the product).
    config : Path or None
        The configuration file given to the command; copied next to the log
        (:func:`config_copy_path`) and hashed into the manifest.
    depends_on : tuple of str
        Keys of the tasks that must succeed first (their outputs are our inputs); if one
        fails, this task is ``blocked`` and does not run.
    after : tuple of str
        Keys of the tasks that must have *finished* first, successfully or not: the task
        works on whatever they produced (e.g. DL3 from the DL2 files of a target that exist,
        when one run failed). A re-run of one of them makes this task stale.
    optional_inputs : tuple of Path
        Inputs that may be missing when the task runs (products of ``after`` tasks that
        failed): a missing one is left out of the command line (every argument equal to its
        path, or ``--option=<path>``, is dropped) and recorded as missing; its appearance
        later makes the task stale.
    output_dirs : tuple of Path
        Directories whose whole content is a product (e.g. DL3 files per wobble, whose names
        are known only afterwards): created before the command runs, and recorded with the
        list of their files.
    overwrite_argument : str or None
        Appended to ``command`` when an output already exists but is stale (a product of an
        interrupted or outdated run); ``None`` if the command has no such option.
    """

    key: str
    stage: str
    command: tuple[str, ...]
    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]
    log: Path
    config: Path | None = None
    depends_on: tuple[str, ...] = ()
    overwrite_argument: str | None = field(default="--overwrite")
    after: tuple[str, ...] = ()
    output_dirs: tuple[Path, ...] = ()
    optional_inputs: tuple[Path, ...] = ()

    def __post_init__(self):
        # accept lists and strings from callers, store tuples of str / Path (hashable, frozen)
        object.__setattr__(self, "command", tuple(str(c) for c in self.command))
        object.__setattr__(self, "inputs", _paths(self.inputs))
        object.__setattr__(self, "outputs", _paths(self.outputs))
        if not isinstance(self.log, Path):
            object.__setattr__(self, "log", Path(self.log))
        if self.config is not None:
            object.__setattr__(self, "config", Path(self.config))
        object.__setattr__(self, "depends_on", tuple(self.depends_on))
        object.__setattr__(self, "after", tuple(self.after))
        object.__setattr__(self, "output_dirs", _paths(self.output_dirs))
        object.__setattr__(self, "optional_inputs", _paths(self.optional_inputs))
        if not self.key or not self.stage or not self.command:
            raise TaskGraphError(f"task {self.key!r}: key, stage and command are required")

    @property
    def upstream(self):
        """Keys of every task that must finish first (``depends_on`` then ``after``)."""
        return self.depends_on + tuple(k for k in self.after if k not in self.depends_on)

    @property
    def products(self):
        """``outputs`` and ``output_dirs``."""
        return self.outputs + self.output_dirs


def config_copy_path(task):
    """Where the engine copies ``task.config``: beside the log, ``<log stem>.config<suffix>``."""
    if task.config is None:
        return None
    return task.log.with_name(f"{task.log.stem}.config{task.config.suffix or '.txt'}")


def check_graph(tasks):
    """Validate ``tasks`` and return them in dependency order (each after its dependencies).

    Raises `TaskGraphError` for a duplicate key, an output written by two tasks, a dependency
    on an unknown key, or a cycle. Tasks without mutual dependencies keep their given order.
    """
    by_key = {}
    producers = {}
    for task in tasks:
        if task.key in by_key:
            raise TaskGraphError(f"task key {task.key!r} is used twice; keys must be unique")
        by_key[task.key] = task
        for out in task.products:
            if out in producers:
                raise TaskGraphError(
                    f"{out}: written by both {producers[out]!r} and {task.key!r}; "
                    "give each product one task"
                )
            producers[out] = task.key
    for task in tasks:
        for dep in task.upstream:
            if dep not in by_key:
                raise TaskGraphError(f"task {task.key!r} depends on unknown task {dep!r}")
    order, state = [], {}
    for task in tasks:  # iterative depth-first topological sort (no recursion limit)
        if task.key in state:
            continue
        stack = [(task.key, iter(by_key[task.key].upstream))]
        state[task.key] = "open"
        while stack:
            key, deps = stack[-1]
            for dep in deps:
                if state.get(dep) == "open":
                    raise TaskGraphError(f"tasks {key!r} and {dep!r} depend on each other (cycle)")
                if dep not in state:
                    state[dep] = "open"
                    stack.append((dep, iter(by_key[dep].upstream)))
                    break
            else:
                stack.pop()
                state[key] = "closed"
                order.append(by_key[key])
    return order

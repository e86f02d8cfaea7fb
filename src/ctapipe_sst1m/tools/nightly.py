"""``sst1m-nightly``: process one observation night on Dask, resumably, with a manifest.

Argument wiring only: the night's task graph is built by
:class:`~ctapipe_sst1m.orchestration.night_plan.NightPlanner`, run by
:func:`~ctapipe_sst1m.orchestration.run_workflow` (options shared with the other workflow
commands in :class:`~ctapipe_sst1m.orchestration.WorkflowTool`).
"""

import sys

from ctapipe.core import ToolConfigurationError
from ctapipe.core.traits import Bool, Int, List, Unicode, flag
from ctapipe.core.traits import Path as PathTrait
from traitlets.config import Config

from ..core.config import packaged_config_path, read_config_file
from ..core.tool import check_writable_directory
from ..orchestration.manifest import Manifest
from ..orchestration.night_plan import STAGES, NightPlanner
from ..orchestration.summary import format_status
from ..orchestration.workflow_tool import WorkflowTool

__all__ = ["NightlyTool", "main"]


class NightlyTool(WorkflowTool):
    """Run the night's chain R0 → DL1 → stereo → DL2 → DL3 → index → quality."""

    name = "sst1m-nightly"
    description = __doc__
    examples = """
sst1m-nightly --date 2024-03-05 --raw-dir /net --output-dir ANA -c night.yaml --workers 8
sst1m-nightly --date 2024-03-05 --dl1-dir toy_night/ --output-dir ANA -c night.yaml \\
    --stages stereo,dl2,dl3,index
sst1m-nightly --date 2024-03-05 --raw-dir /net --output-dir ANA -c night.yaml --scheduler slurm
sst1m-nightly --status ANA/20240305
"""
    all_stages = STAGES

    date = Unicode(None, allow_none=True, help="The night (evening date), YYYY-MM-DD.").tag(
        config=True
    )
    raw_dir = PathTrait(
        None, allow_none=True, exists=True, file_ok=False, help="Root of the raw data."
    ).tag(config=True)
    dl1_dir = PathTrait(
        None,
        allow_none=True,
        exists=True,
        file_ok=False,
        help="Directory of DL1 runs (the night enters at DL1, e.g. a toy night).",
    ).tag(config=True)
    output_dir = PathTrait(
        None,
        allow_none=True,
        file_ok=False,
        help="Analysis root; the night goes to <dir>/<YYYYMMDD>.",
    ).tag(config=True)
    telescopes = List(Int(), default_value=[21, 22], help="Telescopes to process.").tag(config=True)
    status = PathTrait(
        None,
        allow_none=True,
        help="Print the manifest of a processed night (ANA/<YYYYMMDD>) and exit.",
    ).tag(config=True)
    use_default_config = Bool(
        True, help="Apply the packaged night_default.yaml below the given configuration."
    ).tag(config=True)

    aliases = {
        **WorkflowTool.aliases,
        "date": "NightlyTool.date",
        "raw-dir": "NightlyTool.raw_dir",
        "dl1-dir": "NightlyTool.dl1_dir",
        ("o", "output-dir"): "NightlyTool.output_dir",
        "telescopes": "NightlyTool.telescopes",
        "status": "NightlyTool.status",
    }
    flags = {
        **WorkflowTool.flags,
        **flag(
            "default-config",
            "NightlyTool.use_default_config",
            "Apply the packaged night defaults (default).",
            "Use only the given configuration.",
        ),
    }
    classes = WorkflowTool.classes + [NightPlanner]

    def setup(self):
        if self.status is not None:
            return
        if self.use_default_config:
            defaults = Config(read_config_file(packaged_config_path("night_default.yaml")))
            defaults.merge(self.config)
            self.update_config(defaults)
        if self.date is None or self.output_dir is None:
            raise ToolConfigurationError("give --date YYYY-MM-DD and --output-dir ANA")
        if self.raw_dir is None and self.dl1_dir is None:
            raise ToolConfigurationError("give --raw-dir RAW and/or --dl1-dir DL1")
        unknown = sorted(set(self.telescopes) - {21, 22})
        if unknown:
            raise ToolConfigurationError(f"--telescopes: unknown telescope {unknown[0]}; use 21,22")
        check_writable_directory(self.output_dir)
        self.planner = NightPlanner(parent=self)

    def start(self):
        if self.status is not None:
            try:
                manifest = Manifest.read(self.status)
            except (FileNotFoundError, ValueError) as err:
                raise ToolConfigurationError(f"--status: {err}") from None
            print(format_status(manifest, root=self.status))
            return
        stages = self.selected_stages()
        plan = self.planner.plan(
            self.date,
            self.output_dir,
            raw_dir=self.raw_dir,
            dl1_dir=self.dl1_dir,
            telescopes=tuple(self.telescopes),
            stages=stages,
        )
        for path, reason in plan.skipped:
            self.log.warning("skipped %s: %s", path, reason)
        for target, cameras in sorted(plan.targets().items()):
            files = ", ".join(f"{n} of cs{c}" for c, n in sorted(cameras.items()))
            self.log.info("target %s: %s", target, files)
        if not plan.runs:
            raise ToolConfigurationError(
                f"no file of the night {self.date} found (raw: {self.raw_dir}, dl1: "
                f"{self.dl1_dir}); check --date and NightPlanner.raw_pattern/dl1_pattern"
            )
        if not self.dry_run:
            plan.write_configs()
        meta = {"workflow": self.name, "argv": sys.argv, "stages": list(stages), **plan.describe()}
        self.run_tasks(plan.tasks, plan.manifest_path, meta=meta)


def main():
    """Run the tool from the command line."""
    NightlyTool().run()


if __name__ == "__main__":
    main()

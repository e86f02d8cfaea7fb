"""``sst1m-dump-config``: write the standard configuration of the installed version.

The complete, commented configuration of one stage (or all) for simulations (``--mc``) or
observed data (``--data``), stamped with the package version, built from the Tools' and
Components' options and the packaged SST-1M configurations
(:mod:`ctapipe_sst1m.config.dump`), so that it cannot drift from what the commands do. Every
``sst1m-*`` command of the stage (and stock ``ctapipe-process`` for ``r0_dl1``) accepts the
file unchanged. Process data and MC with files dumped by the same version; edit the MC file
for NSB tuning with ``sst1m-tune-nsb``.
"""

from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import CaselessStrEnum, flag
from ctapipe.core.traits import Path as PathTrait
from traitlets import Unicode

from ..config.dump import STAGE_ORDER, dump_stage
from ..core import SST1MTool

__all__ = ["DumpConfigTool", "main"]


class DumpConfigTool(SST1MTool, Tool):
    """Write the complete standard configuration of a stage for MC or observed data."""

    name = "sst1m-dump-config"
    description = __doc__
    examples = """
sst1m-dump-config --mc -o standard_mc.yaml                      # R0/R1 -> DL1 of simulations
sst1m-dump-config --data --stage dl2 -o dl2.yaml
sst1m-dump-config --mc --stage all -o all_mc.yaml               # + all_mc.train_{mono,stereo}.yaml
"""

    kind = Unicode(
        None, allow_none=True, help="mc or data (set with --mc or --data); required."
    ).tag(config=True)
    stage = CaselessStrEnum(
        [*STAGE_ORDER, "all"],
        default_value="r0_dl1",
        help="Stage whose configuration is written; 'all' writes every stage in one file.",
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None,
        allow_none=True,
        directory_ok=False,
        help="YAML file to write; the training stage also writes <name>.train_mono.yaml and"
        " <name>.train_stereo.yaml beside it (the mode files its mono/stereo_config name).",
    ).tag(config=True)

    aliases = {"stage": "DumpConfigTool.stage", ("o", "output"): "DumpConfigTool.output_path"}
    flags = {
        "mc": ({"DumpConfigTool": {"kind": "mc"}}, "Configuration for simulations."),
        "data": ({"DumpConfigTool": {"kind": "data"}}, "Configuration for observed data."),
        **flag(
            "overwrite",
            "DumpConfigTool.overwrite",
            "Replace existing files.",
            "Refuse to replace existing files.",
        ),
    }

    def setup(self):
        """Check the arguments and every output before anything is written."""
        if self.kind not in ("mc", "data"):
            raise ToolConfigurationError("sst1m-dump-config needs --mc or --data")
        if self.output_path is None:
            raise ToolConfigurationError("sst1m-dump-config needs -o/--output CONFIG.yaml")
        self.stages = STAGE_ORDER if self.stage == "all" else [self.stage]
        stem = self.output_path.name.removesuffix(".yaml").removesuffix(".yml")
        self.mode_names = {m: f"{stem}.train_{m}.yaml" for m in ("mono", "stereo")}
        self.outputs = {"": self.prepare_output(self.output_path)}
        if "train" in self.stages:
            for mode, name in self.mode_names.items():
                path = self.output_path.with_name(name)
                self.outputs[f".train_{mode}"] = self.prepare_output(path)

    def start(self):
        """Build the documents (the mode files are named relative to the main file's folder)."""
        names = {m: str(self.output_path.parent.resolve() / n) for m, n in self.mode_names.items()}
        for document in dump_stage(self.stages, self.kind, names):
            self.outputs[document.suffix].path.write_text(document.text)

    def finish(self):
        """Commit the files and say what was written."""
        for pending in self.outputs.values():
            pending.commit()
            Provenance().add_output_file(
                str(pending.target), role="ctapipe-sst1m configuration", add_meta=False
            )
        written = ", ".join(str(p.target) for p in self.outputs.values())
        print(f"wrote the {self.kind.upper()} configuration of {', '.join(self.stages)}: {written}")


def main():
    """Run ``sst1m-dump-config``."""
    DumpConfigTool().run()


if __name__ == "__main__":
    main()

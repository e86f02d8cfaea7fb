"""``sst1m-convert-config``: translate an sst1mpipe JSON configuration into ctapipe-sst1m YAML.

Users of sst1mpipe keep their tuned JSON configurations; this tool writes the equivalent
traitlets configuration of the ctapipe-sst1m components and lists every key it does not
translate, with the reason, in its log and in the header of the YAML file. Argument wiring
only: the translation is :mod:`ctapipe_sst1m.config.sst1mpipe`.
"""

from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, flag
from ctapipe.core.traits import Path as PathTrait

from ..config import convert_sst1mpipe_config, read_sst1mpipe_config, render_yaml
from ..core import SST1MInputError, SST1MTool

__all__ = ["ConvertConfigTool", "main"]


class ConvertConfigTool(SST1MTool, Tool):
    """Translate an sst1mpipe JSON configuration into a ctapipe-sst1m YAML configuration."""

    name = "sst1m-convert-config"
    description = __doc__
    examples = """
sst1m-convert-config -i sst1mpipe_data_config.json -o sst1m_data.yaml
sst1m-r0-dl1 -i SST1M2_20240304_0012.fits.fz -o dl1.h5 -c sst1m_data.yaml
sst1m-convert-config -i my_config.json -o my.yaml --strict   # refuse unknown keys (typos)
"""

    input_path = PathTrait(
        default_value=None,
        exists=True,
        directory_ok=False,
        allow_none=True,
        help="sst1mpipe JSON configuration file to translate.",
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None, directory_ok=False, allow_none=True, help="YAML file to write."
    ).tag(config=True)
    strict = Bool(
        False,
        help=(
            "Refuse (exit status 2, nothing written) if the input has keys that neither "
            "sst1mpipe nor ctapipe-sst1m know (most probably typos); by default they are "
            "reported as untranslated and the rest is written."
        ),
    ).tag(config=True)

    aliases = {
        ("i", "input"): "ConvertConfigTool.input_path",
        ("o", "output"): "ConvertConfigTool.output_path",
    }
    flags = {
        **flag(
            "strict",
            "ConvertConfigTool.strict",
            "Refuse unknown keys (typos).",
            "Report unknown keys and write the rest.",
        )
    }

    def setup(self):
        """Check the arguments and the output, read the JSON."""
        if self.input_path is None or self.output_path is None:
            raise ToolConfigurationError(
                "sst1m-convert-config needs -i/--input JSON and -o/--output YAML"
            )
        self.pending = self.prepare_output(self.output_path)
        self.source = read_sst1mpipe_config(self.input_path)
        Provenance().add_input_file(
            str(self.input_path), role="sst1mpipe configuration", add_meta=False
        )

    def start(self):
        """Translate, report and write the YAML."""
        try:
            self.config_out, self.report = convert_sst1mpipe_config(self.source)
        except SST1MInputError as err:
            raise ToolConfigurationError(f"{self.input_path}: {err}") from None
        for note in self.report:
            log = self.log.error if note.kind == "unknown" else self.log.warning
            log("%s: [%s] %s", note.key, note.kind, note.reason)
        unknown = [n.key for n in self.report if n.kind == "unknown"]
        if unknown and self.strict:
            raise ToolConfigurationError(
                f"{self.input_path}: unknown keys {', '.join(unknown)}; fix them or drop --strict"
            )
        text = render_yaml(self.config_out, self.report, self.input_path.name)
        self.pending.path.write_text(text)

    def finish(self):
        """Commit the YAML and print the summary."""
        self.pending.commit()
        Provenance().add_output_file(
            str(self.output_path), role="ctapipe-sst1m configuration", add_meta=False
        )
        n_unknown = sum(n.kind == "unknown" for n in self.report)
        print(
            f"wrote {self.output_path}: {len(self.config_out)} sections translated,"
            f" {len(self.report)} keys not translated or changed, {n_unknown} of them unknown"
            " (possible typos); listed above and in the file header"
        )


def main():
    """Run ``sst1m-convert-config``."""
    ConvertConfigTool().run()


if __name__ == "__main__":
    main()

"""``sst1m-tune-nsb``: a configuration that adds the missing night-sky background to the MC.

Measures the noise of the data (pixel-charge spread of the interleaved pedestal events in the
monitoring of a DL1 of ``sst1m-r0-dl1``, or of the image pixels outside the cleaning mask) and
of the MC file, per telescope, and writes BASE plus what adds the missing noise: at waveform
level for R1 MC (ctapipe's ``WaveformModifier``, the ``add_nsb_in_waveforms`` hook of
``ctapipe-process`` honoured by ``sst1m-r0-dl1``; the noise waveforms go to an NSB file beside
the output) or at image level for DL1 MC (ctapipe's ``ImageModifier``). The numerics are
:mod:`ctapipe_sst1m.config.nsb_tuning`; this module is the argument wiring.
"""

import yaml
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import CaselessStrEnum, Dict, Int
from ctapipe.core.traits import Path as PathTrait
from traitlets.config import Config

from ..config import nsb_tuning as nt
from ..config.dump import import_stage_tools, yaml_value
from ..core import SST1MTool, check_config, packaged_config_path, read_config_file
from ..version import __version__

__all__ = ["TuneNSBTool", "main"]


def _existing(help_text):
    return PathTrait(None, allow_none=True, exists=True, directory_ok=False, help=help_text).tag(
        config=True
    )


class TuneNSBTool(SST1MTool, Tool):
    """Write a configuration that adds the data's missing NSB noise to the MC."""

    name = "sst1m-tune-nsb"
    description = __doc__
    examples = """
sst1m-dump-config --mc -o standard_mc.yaml
sst1m-tune-nsb --config standard_mc.yaml --input-mc gamma_r1.h5 \\
    --input-data SST1M1_20240304_0012.dl1.h5 -o tuned_mc.yaml   # + tuned_mc.nsb.h5
sst1m-r0-dl1 -i gamma_r1.h5 -o gamma.dl1.h5 -c tuned_mc.yaml
"""

    base_config = _existing("Configuration to tune (e.g. from sst1m-dump-config --mc).")
    input_mc = _existing("Simulation: R1 waveforms (sst1m-simulate --r1) or DL1 with images.")
    input_data = _existing("Observed DL1 (sst1m-r0-dl1 output, or a toy night) of typical NSB.")
    output_path = PathTrait(
        None, allow_none=True, directory_ok=False, help="Tuned configuration (YAML)."
    ).tag(config=True)
    level = CaselessStrEnum(
        ["auto", "waveform", "image"],
        default_value="auto",
        help="Where the noise is added: auto = waveforms for R1 MC, images for DL1 MC.",
    ).tag(config=True)
    max_events = Int(60, min=5, help="R1 MC events read to measure and tune the noise.").tag(
        config=True
    )
    n_noise_events = Int(
        40, min=2, help="Noise waveforms per telescope in the NSB file (waveform level)."
    ).tag(config=True)
    telescope_map = Dict(
        default_value={21: 1, 22: 2},
        help="Data telescope id -> MC telescope id whose noise it sets (same ids also match).",
    ).tag(config=True)

    aliases = {
        "config": "TuneNSBTool.base_config",
        "input-mc": "TuneNSBTool.input_mc",
        "input-data": "TuneNSBTool.input_data",
        ("o", "output"): "TuneNSBTool.output_path",
        "level": "TuneNSBTool.level",
        "max-events": "TuneNSBTool.max_events",
    }
    flags = {"overwrite": ({"TuneNSBTool": {"overwrite": True}}, "Replace existing outputs.")}

    def setup(self):
        """Check the arguments and outputs, read the base configuration."""
        if None in (self.base_config, self.input_mc, self.input_data, self.output_path):
            raise ToolConfigurationError(
                "sst1m-tune-nsb needs --config BASE.yaml --input-mc MC --input-data DATA_DL1"
                " -o TUNED.yaml"
            )
        self.base = read_config_file(self.base_config)
        import_stage_tools()  # a dumped base names the tools' own sections
        check_config(self.base, source=str(self.base_config))
        self.mc_level = nt.mc_level(self.input_mc)
        self.add_level = self.mc_level if self.level == "auto" else self.level
        if self.add_level == "waveform" and self.mc_level != "waveform":
            raise ToolConfigurationError(
                f"{self.input_mc}: no R1 waveforms for --level waveform; use --level image"
            )
        self.output = self.prepare_output(self.output_path)
        self.nsb_output = None
        if self.add_level == "waveform":
            stem = self.output_path.name.removesuffix(".yaml").removesuffix(".yml")
            self.nsb_output = self.prepare_output(self.output_path.with_name(f"{stem}.nsb.h5"))

    def start(self):
        """Measure both noises, solve for the added noise, build the tuned configuration."""
        data = nt.data_noise(self.input_data)
        tuned = Config(self.base)
        if self.mc_level == "waveform":
            processing = read_config_file(packaged_config_path("r0_dl1_mc.yaml"))
            processing.merge(self.base)  # what sst1m-r0-dl1 uses for simulations
            self.rows, subarray, n_samples = nt.tune_r1_file(
                self.input_mc, processing, data, self.telescope_map, self.max_events, self.log
            )
        else:
            mc = nt.image_noise(self.input_mc)
            self.rows = nt.tune_images(mc, data, self.telescope_map, self.log)
        if self.add_level == "waveform":
            sigmas = {row.tel_id: row.sigma for row in self.rows}
            n_noise = self.n_noise_events
            nt.write_nsb_file(self.nsb_output.path, subarray, sigmas, n_noise, n_samples)
            target = self.nsb_output.target.resolve()
            tuned.merge(nt.waveform_modifier_config(target, max(100, self.n_noise_events)))
        else:
            tuned.merge(nt.image_modifier_config({r.tel_id: r.variance for r in self.rows}))
        header = [
            f"ctapipe-sst1m {__version__}: {self.base_config.name} tuned by sst1m-tune-nsb"
            f" ({self.add_level} level)",
            f"MC {self.input_mc}; data {self.input_data}",
            *(row.line(self.add_level) for row in self.rows),
        ]
        body = yaml.safe_dump(yaml_value(tuned), sort_keys=False, width=100)
        self.output.path.write_text("".join(f"# {h}\n" for h in header) + "\n" + body)

    def finish(self):
        """Commit the outputs and print the measured noise and the added level."""
        for pending in (self.nsb_output, self.output):
            if pending is not None:
                pending.commit()
                Provenance().add_output_file(str(pending.target), role="NSB tuning", add_meta=False)
        for row in self.rows:
            print(row.line(self.add_level))
            if row.mc.value >= row.data.value:
                self.log.warning("tel %d: the MC is already noisier than the data", row.tel_id)
        print(f"wrote {self.output.target}")


def main():
    """Run ``sst1m-tune-nsb``."""
    TuneNSBTool().run()


if __name__ == "__main__":
    main()

"""sst1m-data-quality: the data-quality table of a night's runs (one row per run and setup).

Reads DL1 or DL2 files (one telescope from sst1m-r0-dl1 / a toy night, or stereo from
sst1m-dl1-stereo, and their sst1m-dl1-dl2 outputs), computes per run and telescope setup the
zenith, livetime and dead-time fraction, event rates above intensity thresholds, the NSB level
of the interleaved pedestals, the Moon geometry, the White-Rabbit Δt of stereo pairs and, with
``--mc-reference``, the light yield from the cosmic-ray intensity spectrum against simulated
protons at the same zenith; then applies the criteria (``QualityCriteria``) and writes
``good`` and ``flags``. Output ECSV or FITS (by the file name), read by
``sst1m-create-index --good-runs`` and ``sst1m-high-level --good-runs``.
"""

import sys

from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, List, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..quality.cosmic_rate import CosmicRayRate
from ..quality.criteria import QualityCriteria
from ..quality.dq import DataQualityMaker
from ..quality.metrics import RunMetrics
from ..quality.table import write_dq_table

__all__ = ["DataQualityTool", "main"]

_SUFFIXES = (".ecsv", ".fits", ".fits.gz", ".fit")
_LIST_OPTIONS = ("-i", "--input", "--mc-reference")


def _expand_list_options(argv):
    """``-i a b c`` -> ``-i a -i b -i c`` (traitlets takes one word per option)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out, current = [], None
    for word in argv:
        if word in _LIST_OPTIONS:
            current = word
            out.append(word)
            continue
        if word.startswith("-"):
            current = None
        elif current is not None and out and out[-1] != current:
            out.append(current)
        out.append(word)
    return out


class DataQualityTool(SST1MTool, Tool):
    """Write the data-quality table of DL1/DL2 runs."""

    name = "sst1m-data-quality"
    description = __doc__
    examples = """
    sst1m-data-quality -i night/SST1M1_20231110_*.dl1.h5 -o dq.ecsv
    sst1m-data-quality -i dl2/*.h5 --mc-reference proton_ze30.dl1.h5 \\
        --mc-reference proton_ze40.dl1.h5 -o dq.fits -c dq.yaml
    """

    input_files = List(
        PathTrait(exists=True, directory_ok=False),
        default_value=[],
        help="Observed DL1 or DL2 files (repeat -i, or give several words after it).",
    ).tag(config=True)
    mc_reference = List(
        PathTrait(exists=True, directory_ok=False),
        default_value=[],
        help=(
            "Simulated proton DL1 files (sst1m-simulate --particle proton --telescopes 21 "
            "--telescopes 22), one per zenith node, for the cosmic-ray light yield."
        ),
    ).tag(config=True)
    output_path = PathTrait(
        None, allow_none=True, directory_ok=False, help="DQ table to write (.ecsv or .fits)."
    ).tag(config=True)
    overwrite = Bool(False, help="Replace an existing output table.").tag(config=True)

    aliases = {
        ("i", "input"): "DataQualityTool.input_files",
        "mc-reference": "DataQualityTool.mc_reference",
        ("o", "output"): "DataQualityTool.output_path",
        "rate-scale": "CosmicRayRate.rate_scale",
    }
    flags = flag(
        "overwrite",
        "DataQualityTool.overwrite",
        "Replace an existing output table.",
        "Refuse to replace an existing output table.",
    )
    classes = [RunMetrics, CosmicRayRate, QualityCriteria]

    def initialize(self, argv=None):
        """Accept several words after ``-i``/``--input``/``--mc-reference`` (shell globs)."""
        super().initialize(_expand_list_options(argv))

    def setup(self):
        if not self.input_files:
            raise ToolConfigurationError("give the DL1/DL2 files: sst1m-data-quality -i FILE…")
        if self.output_path is None:
            raise ToolConfigurationError("give the output table: -o dq.ecsv (or .fits)")
        if not str(self.output_path).endswith(_SUFFIXES):
            raise ToolConfigurationError(
                f"{self.output_path}: unknown table format; name it .ecsv or .fits(.gz)"
            )
        suffix = ".ecsv" if str(self.output_path).endswith(".ecsv") else ".fits"
        self.pending = self.prepare_output(self.output_path, suffix=suffix)
        self.maker = DataQualityMaker(parent=self)
        self.maker.inspect(self.input_files)  # refuse bad inputs before any work

    def start(self):
        self.table = self.maker.make_table(self.input_files, self.mc_reference)
        n_bad = int((~self.table["good"]).sum())
        self.log.info("%d rows, %d flagged", len(self.table), n_bad)
        for row in self.table[~self.table["good"]]:
            print(f"{row['obs_id']} {row['tel_setup']}: {row['flags']}")
        print(f"{len(self.table)} run(s) x setup(s), {n_bad} flagged -> {self.output_path}")

    def finish(self):
        write_dq_table(self.table, self.pending.path)
        self.pending.commit()


def main():
    DataQualityTool().run()


if __name__ == "__main__":
    main()

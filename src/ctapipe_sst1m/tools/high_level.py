"""sst1m-high-level: θ², sky maps, spectrum and light curve of a target from DL3 index dirs.

Argument wiring only: observations from `~ctapipe_sst1m.analysis.observations.
ObservationSelection` (gammapy ``DataStore`` per index directory), the analyses and their files
from `~ctapipe_sst1m.analysis.products.HighLevelAnalysis` (on gammapy 2.1), the target from the
package's local catalogue, the good-run table from `ctapipe_sst1m.dl3.good_runs`.
"""

import sys

from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Float, Int, List, Unicode, flag
from ctapipe.core.traits import Path as PathTrait

from ..analysis.observations import ObservationSelection
from ..analysis.products import HighLevelAnalysis
from ..core import SST1MTool
from ..simulation.catalogue import resolve_target

__all__ = ["HighLevelTool", "main", "repeat_list_options"]

#: options that take several words (``-i A B``, ``--energy-range 1 100``)
LIST_OPTIONS = ("-i", "--input", "--obs-ids", "--energy-range")


def repeat_list_options(argv, options=LIST_OPTIONS):
    """``-i A B --x`` → ``-i A -i B --x``: traitlets takes one word per list option."""
    out, current = [], None
    for word in argv:
        if word in options:
            current = word
            out.append(word)
        elif current is not None and not word.startswith("-"):
            if out[-1] != current:
                out.append(current)
            out.append(word)
        else:
            current = None
            out.append(word)
    return out


class HighLevelTool(SST1MTool, Tool):
    """High-level analysis of one target from one or more DL3 index directories."""

    name = "sst1m-high-level"
    description = __doc__
    examples = """
    sst1m-high-level -i DL3/index --target Crab --output-dir HL
    sst1m-high-level -i night1/index night2/index --ra 83.633 --dec 22.0145 --output-dir HL \\
        --analyses theta2,spectrum --model logparabola --energy-range 0.8 50 --n-off 3
    """
    input_dirs = List(
        PathTrait(exists=True, directory_ok=True, file_ok=False),
        default_value=[],
        help="DL3 index directories (hdu-index.fits.gz and obs-index.fits.gz).",
    ).tag(config=True)
    target = Unicode(None, allow_none=True, help="Target name in the local catalogue.").tag(
        config=True
    )
    ra = Float(None, allow_none=True, help="Target right ascension (ICRS, deg).").tag(config=True)
    dec = Float(None, allow_none=True, help="Target declination (ICRS, deg).").tag(config=True)
    obs_ids = List(Int(), default_value=[], help="Use only these observations.").tag(config=True)
    good_runs = PathTrait(
        None,
        allow_none=True,
        exists=True,
        directory_ok=False,
        help="Good-run table (obs_id, tel_setup, good, flags); observations with a bad run are"
        " left out.",
    ).tag(config=True)
    output_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Output directory (created if missing)."
    ).tag(config=True)

    aliases = {
        ("i", "input"): "HighLevelTool.input_dirs",
        "target": "HighLevelTool.target",
        "ra": "HighLevelTool.ra",
        "dec": "HighLevelTool.dec",
        ("o", "output-dir"): "HighLevelTool.output_dir",
        "obs-ids": "HighLevelTool.obs_ids",
        "good-runs": "HighLevelTool.good_runs",
        "analyses": "HighLevelAnalysis.analyses",
        "energy-range": "HighLevelAnalysis.energy_range",
        "theta-cut": "Theta2Analysis.theta_cut",
        "n-off": "Theta2Analysis.n_off",
        "model": "SpectrumAnalysis.model",
        ("c", "config"): "Tool.config_files",
    }
    flags = {
        **flag(
            "overwrite",
            "HighLevelTool.overwrite",
            "Replace existing products.",
            "Refuse to replace existing products.",
        ),
        "theta-cut-from-irf": (
            {"Theta2Analysis": {"theta_cut_from_irf": True}},
            "θ cut of every event from the observation's RAD_MAX (point-like IRFs).",
        ),
    }
    classes = [HighLevelAnalysis, *HighLevelAnalysis.classes, ObservationSelection]

    def initialize(self, argv=None):
        argv = sys.argv[1:] if argv is None else list(argv)
        super().initialize(repeat_list_options([str(a) for a in argv]))

    def setup(self):
        if not self.input_dirs or self.output_dir is None:
            raise ToolConfigurationError(
                "give -i INDEX_DIR... (--target NAME | --ra DEG --dec DEG) --output-dir OUT"
            )
        if self.target is None and self.ra is None:
            raise ToolConfigurationError("give --target NAME or --ra DEG --dec DEG")
        self.target_name, self.coord = resolve_target(self.target, self.ra, self.dec)
        good = None
        if self.good_runs is not None:
            from ..dl3.good_runs import read_good_runs

            good = read_good_runs(self.good_runs)
            Provenance().add_input_file(str(self.good_runs), role="good-run table")
        try:
            self.analysis = HighLevelAnalysis(parent=self)
            self.selection = ObservationSelection(
                self.input_dirs, self.coord, self.obs_ids, good, parent=self
            )
            self.analysis.energy_bounds  # noqa: B018  (validates the range now)
        except ValueError as err:
            raise ToolConfigurationError(f"sst1m-high-level: {err}") from None
        for index_dir in self.input_dirs:
            for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
                Provenance().add_input_file(str(index_dir / name), role="DL3 index")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.pending = {
            name: self.prepare_output(self.output_dir / name) for name in self.analysis.products()
        }

    def start(self):
        self.log.info(
            "%s: %d observation(s), %s IRFs",
            self.target_name,
            len(self.selection),
            "point-like" if self.selection.point_like else "full-enclosure",
        )
        try:
            self.analysis.start(self.coord, self.target_name, self.selection.point_like)
        except ValueError as err:
            raise ToolConfigurationError(f"sst1m-high-level: {err}") from None
        for observation in self.selection:
            Provenance().add_input_file(
                str(self.selection.event_files[observation.obs_id]), role="DL3"
            )
            self.analysis.add(observation)
            self.log.info("observation %d done", observation.obs_id)
        self.analysis.finish()

    def finish(self):
        paths = {name: pending.path for name, pending in self.pending.items()}
        summary = self.analysis.write(paths, self.selection, self.input_dirs)
        for name, pending in self.pending.items():
            pending.commit()
            Provenance().add_output_file(str(pending.target), role=name)
        if "theta2" in summary:
            t = summary["theta2"]
            self.log.info(
                "θ²: N_on %d, N_off %d, α %.3f, excess %.1f, %.1f σ",
                t["n_on"],
                t["n_off"],
                t["alpha"],
                t["excess"],
                t["significance"],
            )
        self.log.info("products written to %s", self.output_dir)


def main():
    HighLevelTool().run()


if __name__ == "__main__":
    main()

"""sst1m-night-summary: a night's summary as a multi-page PDF and a static HTML page.

NIGHT_DIR is a night's analysis directory written by sst1m-nightly, or any directory with
one night's DL1/DL2/DL3 files (a toy night). OUT (a directory) receives
``night_summary.pdf``, ``index.html`` with ``figures/*.png`` (readable without a server) and
``dq_table.ecsv``. A DQ table found in NIGHT_DIR is shown as it is; otherwise the runs are
judged here with the default (or ``-c``) criteria. Works for one file, one telescope, no DL2
and no DL3 (the pages then say what is missing).
"""

import sys
from pathlib import Path

from astropy.table import vstack
from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, Float, List, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool, check_writable_directory
from ..quality.cosmic_rate import CosmicRayRate
from ..quality.criteria import QualityCriteria
from ..quality.dq import DataQualityMaker, site_location
from ..quality.metrics import RunMetrics
from ..quality.night import NightAccumulator, find_night_files, read_manifest, read_source_catalog
from ..quality.summary_pages import PendingDirectory, build_pages, write_summary
from ..quality.table import build_table, read_dq_table, write_dq_table

__all__ = ["NightSummaryTool", "main"]

_NO_VALUE = {"--help", "-h", "--help-all", "--version"}


class NightSummaryTool(SST1MTool, Tool):
    """Summarise one observation night (PDF + HTML)."""

    name = "sst1m-night-summary"
    description = __doc__
    examples = """
    sst1m-night-summary /data/ana/20231110 -o summary_20231110
    sst1m-night-summary toy_night -o summary --source-catalog sources.json --overwrite
    """
    night_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Night directory (NIGHT_DIR)."
    ).tag(config=True)
    output_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Output directory of the summary."
    ).tag(config=True)
    source_catalog = PathTrait(
        None,
        allow_none=True,
        exists=True,
        directory_ok=False,
        help="Source positions: JSON {name: {frame: icrs, ra, dec}} or ECSV; default packaged.",
    ).tag(config=True)
    mc_reference = List(
        PathTrait(exists=True, directory_ok=False),
        default_value=[],
        help="Simulated proton DL1 files for the MC intensity curves.",
    ).tag(config=True)
    time_bin = Float(10.0, min=0.1, help="Width (s) of the time bins of the rate pages.").tag(
        config=True
    )
    overwrite = Bool(False, help="Replace an existing output directory.").tag(config=True)
    aliases = {
        "night-dir": "NightSummaryTool.night_dir",
        ("o", "output"): "NightSummaryTool.output_dir",
        "source-catalog": "NightSummaryTool.source_catalog",
        "mc-reference": "NightSummaryTool.mc_reference",
        "rate-scale": "CosmicRayRate.rate_scale",
    }
    flags = flag("overwrite", "NightSummaryTool.overwrite", "Replace an existing output.",
                 "Refuse to replace an existing output.")  # fmt: skip
    classes = [RunMetrics, CosmicRayRate, QualityCriteria]

    def initialize(self, argv=None):
        """NIGHT_DIR may be given as a positional word anywhere on the command line."""
        argv = list(sys.argv[1:] if argv is None else argv)
        no_value = _NO_VALUE | {f"-{k}" if len(k) == 1 else f"--{k}" for k in self.flags}
        no_value |= {"--debug", "--show-config", "--show-config-json", "-q", "--quiet", "-v"}
        out, positional, k = [], [], 0
        while k < len(argv):
            word = argv[k]
            if word.startswith("-"):
                out.append(word)
                if "=" not in word and word not in no_value and k + 1 < len(argv):
                    out.append(argv[k + 1])
                    k += 1
            else:
                positional.append(word)
            k += 1
        if positional:
            out.insert(0, f"--night-dir={positional[0]}")
            out.extend(positional[1:])  # refused as stray words
        super().initialize(out)

    def setup(self):
        if self.night_dir is None or self.output_dir is None:
            raise ToolConfigurationError("usage: sst1m-night-summary NIGHT_DIR -o OUT")
        self.output_dir = Path(self.output_dir).expanduser().absolute()
        if self.output_dir.exists() and not self.overwrite:
            raise ToolConfigurationError(f"output {self.output_dir} exists; use --overwrite")
        check_writable_directory(self.output_dir.parent)
        self.catalog = read_source_catalog(self.source_catalog)
        self.files = find_night_files(self.night_dir)
        self.maker = DataQualityMaker(parent=self)
        self.maker.cosmic_rate.load(self.mc_reference)
        self.pending = self.enter_context(PendingDirectory(self.output_dir))

    def start(self):
        acc = NightAccumulator(
            self.maker, self.catalog, self.time_bin, self.maker.metrics.gammaness_cut
        )
        acc.add_files(self.files.hdf5, site_location)
        for path in self.files.dl3:
            acc.add_dl3(path)
        acc.finish()
        table = self._dq_table(acc)
        rows, problem = read_manifest(self.files.manifest)
        mc_rate = self.maker.cosmic_rate.rate_function() if self.mc_reference else None
        pages, lines, _, failed = build_pages(acc, table, self.files, rows, problem, mc_rate)
        title = f"Night summary: {self.night_dir.name}"
        write_summary(self.pending.path, pages, table, lines, failed, title)
        if table is not None and len(table):
            write_dq_table(table, self.pending.path / "dq_table.ecsv")
        print(
            f"{len(self.files.hdf5)} HDF5 / {len(self.files.dl3)} DL3 file(s), {len(pages)} pages"
        )

    def _dq_table(self, acc):
        if self.files.dq_tables:
            return vstack(
                [read_dq_table(p) for p in self.files.dq_tables], metadata_conflicts="silent"
            )
        return build_table(acc.rows, self.maker.criteria) if acc.rows else None

    def finish(self):
        self.pending.commit()
        self.log.info("summary in %s", self.output_dir / "index.html")


def main():
    NightSummaryTool().run()


if __name__ == "__main__":
    main()

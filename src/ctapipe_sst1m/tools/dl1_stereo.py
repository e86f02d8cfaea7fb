"""``sst1m-dl1-stereo``: match the events of two single-telescope DL1 runs into one stereo file.

Argument wiring and the loop over telescope-1 runs only: run and event pairing live in
:mod:`ctapipe_sst1m.stereo.pairing`, the matchers in :mod:`ctapipe_sst1m.stereo.matching`,
reading and writing in :mod:`ctapipe_sst1m.stereo.stereo_file`.
"""

import astropy.units as u
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import AstroQuantity, Bool, CaselessStrEnum, List, Path, Unicode, flag
from tqdm.auto import tqdm

from ..core import SST1MTool
from ..stereo.matching import EventMatcher, SlidingWindow, SWATEventIDs, WhiteRabbitClosest
from ..stereo.pairing import match_run, matcher_name, read_runs, select_partners, telescope_pair
from ..stereo.plotting import plot_matching
from ..stereo.stereo_file import write_stereo_file

__all__ = ["DL1StereoTool", "main"]

METHODS = ["auto", "SlidingWindow", "WhiteRabbitClosest", "SWATEventIDs"]


class DL1StereoTool(SST1MTool, Tool):
    """Find coincident events of two telescopes and write one ctapipe stereo DL1 file."""

    name = "sst1m-dl1-stereo"
    description = __doc__
    examples = """
sst1m-dl1-stereo --tel1 dl1/SST1M1_20240305_*.h5 --tel2 dl1/tel2/ -o stereo.dl1.h5
sst1m-dl1-stereo --tel1 a.h5 --tel2 b.h5 -o s.h5 --method SlidingWindow \\
    --SlidingWindow.window_half_width="200 us"
"""

    tel1 = List(
        Unicode(), help="DL1 files of the first telescope (files, directories or globs)."
    ).tag(config=True)
    tel2 = List(
        Unicode(), help="DL1 files of the second telescope (files, directories or globs)."
    ).tag(config=True)
    output = Path(
        None, allow_none=True, directory_ok=False, help="Output stereo DL1 file (HDF5)."
    ).tag(config=True)
    method = CaselessStrEnum(
        METHODS,
        default_value="auto",
        help=(
            "Matching method; 'auto' chooses by observation date: SlidingWindow before "
            "2023-09-25, WhiteRabbitClosest until 2024-01-29, SWATEventIDs from 2024-01-30."
        ),
    ).tag(config=True)
    keep_mono = Bool(
        False,
        help="Also write unmatched (single-telescope) events; they have one telescope triggered.",
    ).tag(config=True)
    pointing_tolerance = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.deg,
        help="Largest pointing difference (an angle, e.g. '0.2 deg') for two runs to be matched.",
    ).tag(config=True)
    plot = Bool(True, help="Write a PNG of the coincidence profile and Δt histogram.").tag(
        config=True
    )

    aliases = {
        ("i", "tel1"): "DL1StereoTool.tel1",
        "tel2": "DL1StereoTool.tel2",
        ("o", "output"): "DL1StereoTool.output",
        "method": "DL1StereoTool.method",
        "pointing-tolerance": "DL1StereoTool.pointing_tolerance",
    }
    flags = {
        **flag(
            "keep-mono",
            "DL1StereoTool.keep_mono",
            "Keep unmatched events.",
            "Write only matched events.",
        ),
        **flag("plot", "DL1StereoTool.plot", "Write the matching PNG.", "Write no PNG."),
    }
    classes = [SlidingWindow, WhiteRabbitClosest, SWATEventIDs]

    def setup(self):
        """Check the arguments and outputs, read and check the per-telescope inputs."""
        if not self.tel1 or not self.tel2:
            raise ToolConfigurationError("give --tel1 and --tel2 DL1 files (or directories)")
        if self.output is None:
            raise ToolConfigurationError("give the output file with -o/--output")
        self.pending = self.prepare_output(self.output)
        self.png = self.pending.target.with_name(self.pending.target.stem + "_matching.png")
        self.pending_png = self.prepare_output(self.png) if self.plot else None
        self.runs = [read_runs(self.tel1, "--tel1", tqdm), read_runs(self.tel2, "--tel2", tqdm)]
        self.tel_ids = telescope_pair(*self.runs)
        for run in self.runs[0] + self.runs[1]:
            Provenance().add_input_file(str(run.path), role="DL1/Event")

    def start(self):
        """Match every telescope-1 run against its partners and write the stereo file."""
        self.observations, self.diagnostics, used_2 = [], [], set()
        for index, tel1 in enumerate(tqdm(self.runs[0], desc="matching runs")):
            partners = select_partners(tel1, self.runs[1], self.pointing_tolerance, self.log)
            name = matcher_name(self.method, tel1, self.log)
            matcher = EventMatcher.from_name(name, parent=self)
            events, diag = match_run(
                index, tel1, self.runs[1], partners, matcher, self.tel_ids, self.keep_mono, used_2
            )
            self.observations.append(events)
            self.diagnostics.append(diag)
        if sum(len(o.time_ns) for o in self.observations) == 0:
            raise ToolConfigurationError(
                f"no coincident events found between {self.runs[0][0].path.name} and the "
                "--tel2 files; check --method and the time offset"
            )
        write_stereo_file(
            self.pending.path,
            self.runs,
            self.tel_ids,
            self.observations,
            self.diagnostics,
            reco_config=self.config,
        )
        if self.pending_png is not None:
            plot_matching(self.diagnostics, self.pending_png.path, self.tel_ids)

    def finish(self):
        """Commit the outputs and log the matching summary of every run."""
        self.pending.commit()
        Provenance().add_output_file(str(self.pending.target), role="DL1/Event")
        if self.pending_png is not None:
            self.pending_png.commit()
            Provenance().add_output_file(str(self.png), role="diagnostics", add_meta=False)
        for obs_id, diag in self.diagnostics:
            s = diag.summary()
            self.log.info(
                "obs %d: %s offset %d ns, %d pairs, unmatched %d / %d, ambiguous %d",
                *(obs_id, s["method"], s["offset_ns"], s["n_pairs"]),
                *(s["n_unmatched_1"], s["n_unmatched_2"], s["n_ambiguous"]),
            )
        self.log.info("wrote %s", self.pending.target)


def main():
    """Run the tool."""
    DL1StereoTool().run()


if __name__ == "__main__":
    main()

"""``sst1m-dl1-stereo``: match the events of two single-telescope DL1 runs into one stereo file.

Argument wiring and the loop over telescope-1 runs only; matching lives in
:mod:`ctapipe_sst1m.stereo.matching`, reading/writing in :mod:`ctapipe_sst1m.stereo.stereo_file`.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, SkyCoord
from astropy.table import Table
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, CaselessStrEnum, Float, List, Unicode, flag
from tqdm.auto import tqdm

from ..core import atomic_output, reject_extra_arguments
from ..stereo.matching import (
    ERA_WHITE_RABBIT,
    EventMatcher,
    MatchingInputError,
    SlidingWindow,
    SWATEventIDs,
    WhiteRabbitClosest,
    matcher_name_for_date,
)
from ..stereo.plotting import plot_matching
from ..stereo.stereo_file import (
    StereoEvents,
    StereoInputError,
    expand_paths,
    read_parameters,
    read_telescope_dl1,
    write_stereo_file,
)
from ..stereo.timestamps import ns_to_time

__all__ = ["DL1StereoTool", "main"]

METHODS = ["auto", "SlidingWindow", "WhiteRabbitClosest", "SWATEventIDs"]


class DL1StereoTool(Tool):
    """Find coincident events of two telescopes and write one ctapipe stereo DL1 file."""

    name = "sst1m-dl1-stereo"
    description = __doc__
    examples = """
    sst1m-dl1-stereo --tel1 dl1/SST1M1_20240305_*.h5 --tel2 dl1/tel2/ -o stereo.dl1.h5
    sst1m-dl1-stereo --tel1 a.h5 --tel2 b.h5 -o s.h5 --method SlidingWindow \\
        --SlidingWindow.window_half_width_ns=200000
    """

    tel1 = List(
        Unicode(), help="DL1 files of the first telescope (files, directories or globs)."
    ).tag(config=True)
    tel2 = List(
        Unicode(), help="DL1 files of the second telescope (files, directories or globs)."
    ).tag(config=True)
    output = Unicode(None, allow_none=True, help="Output stereo DL1 file (HDF5).").tag(config=True)
    overwrite = Bool(False, help="Replace an existing output file.").tag(config=True)
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
    pointing_tolerance_deg = Float(
        0.2, help="Largest pointing difference in degrees for two runs to be matched."
    ).tag(config=True)
    plot = Bool(True, help="Write a PNG of the coincidence profile and Δt histogram.").tag(
        config=True
    )

    aliases = {
        ("i", "tel1"): "DL1StereoTool.tel1",
        "tel2": "DL1StereoTool.tel2",
        ("o", "output"): "DL1StereoTool.output",
        "method": "DL1StereoTool.method",
        "pointing-tolerance": "DL1StereoTool.pointing_tolerance_deg",
    }
    flags = {
        **flag(
            "overwrite",
            "DL1StereoTool.overwrite",
            "Replace an existing output file.",
            "Refuse to replace an existing output file.",
        ),
        **flag(
            "keep-mono",
            "DL1StereoTool.keep_mono",
            "Keep unmatched events.",
            "Write only matched events.",
        ),
    }
    classes = [SlidingWindow, WhiteRabbitClosest, SWATEventIDs]

    def _fail(self, message):
        self.log.critical(message)
        self.exit(1)

    def setup(self):
        reject_extra_arguments(self)
        """Check the arguments and read the per-telescope inputs."""
        if not self.tel1 or not self.tel2:
            raise ToolConfigurationError("give --tel1 and --tel2 DL1 files (or directories)")
        if not self.output:
            raise ToolConfigurationError("give the output file with -o/--output")
        self.output_path = Path(self.output).absolute()
        if self.output_path.exists() and not self.overwrite:
            raise ToolConfigurationError(
                f"{self.output_path} exists; use --overwrite to replace it"
            )
        try:
            paths = [expand_paths(self.tel1), expand_paths(self.tel2)]
            self.files = [
                [read_telescope_dl1(p) for p in tqdm(slot, desc=f"reading tel{i + 1} files")]
                for i, slot in enumerate(paths)
            ]
        except StereoInputError as err:
            self._fail(str(err))
        for slot in self.files:
            ids = sorted({f.tel_id for f in slot})
            if len(ids) != 1:
                self._fail(
                    f"--tel{self.files.index(slot) + 1} mixes telescopes {ids}: "
                    "give the files of one telescope per option"
                )
        self.tel_ids = (self.files[0][0].tel_id, self.files[1][0].tel_id)
        if self.tel_ids[0] == self.tel_ids[1]:
            self._fail(
                f"--tel1 and --tel2 are both telescope {self.tel_ids[0]} "
                f"({self.files[0][0].path.name}, {self.files[1][0].path.name}); "
                "give the files of the other telescope to --tel2"
            )
        for slot in self.files:
            for f in slot:
                try:
                    self._check_times(f)
                except StereoInputError as err:
                    self._fail(str(err))
                Provenance().add_input_file(str(f.path), role="DL1/Event")

    def _select_partners(self, tel1):
        """Files of telescope 2 overlapping in time and pointing with one telescope-1 run."""
        t_lo, t_hi = tel1.time_ns.min(), tel1.time_ns.max()
        overlapping = [
            f for f in self.files[1] if f.time_ns.max() >= t_lo and f.time_ns.min() <= t_hi
        ]
        if not overlapping:
            raise StereoInputError(
                f"{tel1.path.name}: no --tel2 file overlaps its time range "
                f"{ns_to_time(t_lo).utc.isot} - {ns_to_time(t_hi).utc.isot}; "
                "give the telescope-2 runs of the same night"
            )
        selected, worst = [], 0.0
        for f in overlapping:
            mid = np.array([(max(t_lo, f.time_ns.min()) + min(t_hi, f.time_ns.max())) // 2])
            a = SkyCoord(*reversed(tel1.pointing_at(mid)), frame=AltAz())
            b = SkyCoord(*reversed(f.pointing_at(mid)), frame=AltAz())
            separation = a.separation(b).to_value(u.deg)[0]
            if separation <= self.pointing_tolerance_deg:
                selected.append(f)
            else:
                worst = max(worst, separation)
                self.log.warning(
                    "%s: pointing differs by %.2f deg, skipped", f.path.name, separation
                )
        if not selected:
            raise StereoInputError(
                f"{tel1.path.name}: the overlapping --tel2 runs point {worst:.2f} deg away "
                f"(> {self.pointing_tolerance_deg} deg); they observed a different position"
            )
        return selected

    def _matcher(self, tel1):
        name = self.method
        first_time = ns_to_time(tel1.time_ns.min())
        if name == "auto":
            name = matcher_name_for_date(first_time)
            self.log.info("%s: method %s chosen by date", tel1.path.name, name)
        if name == "WhiteRabbitClosest":
            if first_time.utc.to_datetime().date() < ERA_WHITE_RABBIT:
                raise StereoInputError(
                    f"{tel1.path.name}: no White Rabbit time stamps before "
                    f"{ERA_WHITE_RABBIT}; use --method SlidingWindow"
                )
        return EventMatcher.from_name(name, parent=self)

    @staticmethod
    def _check_times(tel):
        t = tel.time_ns
        if len(t) > 1 and (np.all(t <= 0) or np.all(t == t[0])):
            raise StereoInputError(
                f"{tel.path.name}: trigger times are missing (all {t[0]} ns), which every "
                "matcher needs; re-run the DL1 step with the (White Rabbit) time stamps"
            )

    def _match_run(self, index, tel1, used_2):
        partners = self._select_partners(tel1)
        matcher = self._matcher(tel1)
        files_2 = [self.files[1].index(f) for f in partners]
        t2 = np.concatenate([f.time_ns for f in partners])
        file_2 = np.concatenate(
            [np.full(len(f.time_ns), i) for i, f in zip(files_2, partners, strict=True)]
        )
        row_2 = np.concatenate([np.arange(len(f.time_ns)) for f in partners])
        table1 = Table({"time": tel1.time_ns, "event_id": np.asarray(tel1.trigger["event_id"])})
        table2 = Table(
            {
                "time": t2,
                "event_id": np.concatenate([np.asarray(f.trigger["event_id"]) for f in partners]),
            }
        )
        if isinstance(matcher, SlidingWindow) and matcher.pre_search_n_events > 0:
            table1["hillas_intensity"] = read_parameters(tel1)["hillas_intensity"]
            table2["hillas_intensity"] = np.concatenate(
                [read_parameters(f)["hillas_intensity"] for f in partners]
            )
        i1, i2 = matcher(table1, table2, tel_ids=self.tel_ids)
        diag = matcher.diagnostics

        rows = [
            (tel1.time_ns[a], index, a, file_2[b], row_2[b]) for a, b in zip(i1, i2, strict=True)
        ]
        for b in zip(file_2[i2], row_2[i2], strict=True):
            used_2.add((int(b[0]), int(b[1])))
        if self.keep_mono:
            single_1 = np.setdiff1d(np.arange(len(tel1.time_ns)), i1)
            rows += [(tel1.time_ns[a], index, a, -1, -1) for a in single_1]
            in_range = (t2 >= tel1.time_ns.min()) & (t2 <= tel1.time_ns.max())
            single_2 = np.setdiff1d(np.nonzero(in_range)[0], i2)
            for b in single_2:
                key = (int(file_2[b]), int(row_2[b]))
                if key not in used_2:
                    used_2.add(key)
                    rows.append((t2[b], -1, -1, file_2[b], row_2[b]))
        rows.sort(key=lambda r: r[0])
        obs_id = int(tel1.obs_ids[0])
        events = StereoEvents(
            obs_id=obs_id,
            file_index=np.array([[r[1], r[3]] for r in rows], dtype=np.int64).reshape(-1, 2),
            row_index=np.array([[r[2], r[4]] for r in rows], dtype=np.int64).reshape(-1, 2),
            time_ns=np.array([r[0] for r in rows], dtype=np.int64),
        )
        return events, (obs_id, diag)

    def start(self):
        """Match every telescope-1 run and write the stereo file atomically."""
        observations, diagnostics, used_2 = [], [], set()
        try:
            for index, tel1 in enumerate(tqdm(self.files[0], desc="matching runs")):
                events, diag = self._match_run(index, tel1, used_2)
                observations.append(events)
                diagnostics.append(diag)
        except (StereoInputError, MatchingInputError) as err:
            self._fail(str(err))
        if sum(len(o.time_ns) for o in observations) == 0:
            self._fail(
                f"no coincident events found between {self.files[0][0].path.name} and the "
                "--tel2 files; check --method and the time offset"
            )
        # overwriting was decided when the output was checked in setup
        with atomic_output(self.output_path, overwrite=True) as tmp:
            write_stereo_file(
                tmp, self.files, self.tel_ids, observations, diagnostics, reco_config=self.config
            )
        Provenance().add_output_file(str(self.output_path), role="DL1/Event")
        for obs_id, diag in diagnostics:
            summary = diag.summary()
            self.log.info(
                "obs %d: %s offset %d ns, %d pairs, unmatched %d / %d, ambiguous %d",
                obs_id,
                summary["method"],
                summary["offset_ns"],
                summary["n_pairs"],
                summary["n_unmatched_1"],
                summary["n_unmatched_2"],
                summary["n_ambiguous"],
            )
        if self.plot:
            png = self.output_path.with_name(self.output_path.stem + "_matching.png")
            with atomic_output(png, overwrite=True) as tmp_png:
                plot_matching(diagnostics, tmp_png, self.tel_ids)
            Provenance().add_output_file(str(png), role="diagnostics")
        self.log.info("wrote %s", self.output_path)


def main():
    """Run the tool."""
    DL1StereoTool().run()


if __name__ == "__main__":
    main()

"""sst1m-dl2-dl3: observed DL2 runs → GADF DL3 observations with their IRFs, and the index.

Wiring and the loop only: runs from `ctapipe_sst1m.dl3.events.read_runs`, grouping from
`ObservationGrouper`, IRFs, cuts, livetime and HDUs from `DL3Maker`, index from `write_index`.
"""

from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, CaselessStrEnum, Float, List, Unicode, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..core.paths import expand_input_paths
from ..dl3.events import SST1MDataDL2Reader, file_tel_setup, read_runs
from ..dl3.index import write_index
from ..dl3.maker import DL3Maker
from ..dl3.observations import ObservationGrouper
from ..irf.bank import config_hash
from ..simulation.catalogue import resolve_target

__all__ = ["DL2ToDL3Tool", "main"]


class DL2ToDL3Tool(SST1MTool, Tool):
    """Make DL3 files (one per wobble or run) and the index of the output directory."""

    name = "sst1m-dl2-dl3"
    description = __doc__
    examples = """
    sst1m-dl2-dl3 -i night/dl2 --irfs BANK --output-dir dl3 --target Crab
    sst1m-dl2-dl3 -i 'dl2/SST1M1_*.dl2.h5' --irfs BANK --output-dir dl3 --target-ra 83.63 \\
        --target-dec 22.01 --granularity run --interpolation nearest --irf-mode link
    """
    input_paths = List(Unicode(), help="DL2 files, directories or globs of observed runs.").tag(
        config=True
    )
    irf_bank = PathTrait(
        None, allow_none=True, exists=True, file_ok=False, help="IRF bank directory."
    ).tag(config=True)
    output_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Directory receiving the DL3 files and index."
    ).tag(config=True)
    target = Unicode(None, allow_none=True, help="Target name (packaged catalogue).").tag(
        config=True
    )
    target_ra = Float(None, allow_none=True, help="Target RA (ICRS, deg).").tag(config=True)
    target_dec = Float(None, allow_none=True, help="Target Dec (ICRS, deg).").tag(config=True)
    tel_setup = CaselessStrEnum(
        ["tel_021", "tel_022", "stereo"],
        default_value=None,
        allow_none=True,
        help="Telescope setup; None takes it from the files (stereo, or a mono file's telescope).",
    ).tag(config=True)
    overwrite = Bool(False, help="Replace existing DL3 and index files.").tag(config=True)

    aliases = {
        ("i", "input"): "DL2ToDL3Tool.input_paths",
        "irfs": "DL2ToDL3Tool.irf_bank",
        ("o", "output-dir"): "DL2ToDL3Tool.output_dir",
        "target": "DL2ToDL3Tool.target",
        "target-ra": "DL2ToDL3Tool.target_ra",
        "target-dec": "DL2ToDL3Tool.target_dec",
        "tel-setup": "DL2ToDL3Tool.tel_setup",
        "granularity": "ObservationGrouper.granularity",
        "interpolation": "DL3Maker.interpolation",
        "irf-mode": "DL3Maker.irf_mode",
        ("c", "config"): "Tool.config_files",
    }
    flags = flag(
        "overwrite",
        "DL2ToDL3Tool.overwrite",
        "Replace existing DL3 and index files.",
        "Refuse to replace existing DL3 and index files.",
    )
    classes = [ObservationGrouper, DL3Maker, SST1MDataDL2Reader]

    def setup(self):
        if not self.input_paths or self.irf_bank is None or self.output_dir is None:
            raise ToolConfigurationError("give -i DL2... --irfs BANK --output-dir DL3_DIR")
        if self.target is None and self.target_ra is None:
            raise ToolConfigurationError("give --target NAME or --target-ra DEG --target-dec DEG")
        name, coord = resolve_target(self.target, self.target_ra, self.target_dec)
        self.target_info = (name, coord)
        self.files = expand_input_paths(self.input_paths)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.grouper = ObservationGrouper(parent=self)
        self.maker = DL3Maker(self.irf_bank, parent=self)
        setups = {p: self.tel_setup or file_tel_setup(p) for p in self.files}
        unknown = [str(p) for p, s in setups.items() if s is None]
        if unknown:
            raise ToolConfigurationError(
                f"{unknown[0]}: mono DL2 of two telescopes; give --tel-setup"
            )
        if len(set(setups.values())) > 1:
            raise ToolConfigurationError(
                f"inputs mix telescope setups {sorted(set(setups.values()))}; run once per setup"
                " (--tel-setup) into separate output directories"
            )
        self.setup_name = next(iter(setups.values()))
        self.maker.nodes(self.setup_name)  # a bank without this setup fails before any work

    def start(self):
        runs = []
        for path in self.files:
            Provenance().add_input_file(str(path), role="DL2")
            runs.extend(read_runs(path, self.setup_name, parent=self))
        self.observations = self.grouper(runs)
        if not self.observations:
            self.log.warning("no run with events in the inputs: no DL3 file written")
        cfg = config_hash(self.get_current_config())
        self.written = []
        for obs in self.observations:
            out = self.output_dir / f"dl3_SST1M_{obs.tel_setup}_{obs.obs_id}.fits.gz"
            pending = self.prepare_output(out, suffix=".fits.gz")
            hdul, n = self.maker.make(obs, self.target_info, cfg, pending.target)
            hdul.writeto(pending.path, overwrite=True)
            pending.commit()
            Provenance().add_output_file(str(out), role="DL3")
            self.written.append(out)
            self.log.info("%s: %d run(s), %d events", out.name, len(obs.runs), n)

    def finish(self):
        indexed, _ = write_index(self.output_dir, self.output_dir, overwrite=True)
        print(
            f"{len(self.written)} DL3 file(s) in {self.output_dir}; index of"
            f" {len(indexed)} observation(s)"
        )


def main():
    DL2ToDL3Tool().run()


if __name__ == "__main__":
    main()

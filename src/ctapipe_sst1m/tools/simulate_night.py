"""``sst1m-simulate-night``: a toy observation night as data-like DL1 runs of both telescopes.

Argument wiring and the loop over runs only: the physics is in
:mod:`ctapipe_sst1m.simulation.night` (showers, clocks, files) and
:mod:`ctapipe_sst1m.simulation.observation` (schedule, pointing, conditions). Runs are simulated
and written one at a time; the truth goes to ``truth.json`` and ``truth_events.fits``.
"""

from astropy.table import vstack
from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, Path, classes_with_traits, flag
from ctapipe.image import ImageCleaner, ImageProcessor
from ctapipe.image.extractor import ImageExtractor
from ctapipe.io import DataWriter
from tqdm.auto import tqdm

from .. import image as _sst1m_image  # noqa: F401  (registers ImageCleanerSST)
from ..calib.monitoring import PedestalMonitor
from ..core import SST1MTool, deferred_interruption, raise_if_interrupted
from ..instrument import DATA_TEL_IDS, SST1MArrayLayout
from ..simulation import CameraNoiseModel, ClusterTrigger, ShowerGenerator, ShowerImageModel
from ..simulation.clocks import TelescopeClocks
from ..simulation.night import NightSimulator
from ..simulation.night_files import RunWriter, data_file_name, dl1_defaults
from ..simulation.night_truth import night_truth, run_summary, truth_rows, write_truth_files
from ..simulation.observation import NightSchedule, ObservingConditions

__all__ = ["SimulateNightTool", "main"]


class SimulateNightTool(SST1MTool, Tool):
    """Simulate a toy observation night: per-telescope DL1 runs plus the injected truth."""

    name = "sst1m-simulate-night"
    description = __doc__
    examples = """
    sst1m-simulate-night --date 2024-03-05 --target Crab --n-runs 4 --seed 1 --output-dir night
    sst1m-simulate-night --date 2023-05-20 --target "Mrk 501" --era pre-wr --n-runs 90 \\
        --seed 2 --output-dir mrk501 --ObservingConditions.cloud_runs=[3,4]
    """

    output_dir = Path(
        None, allow_none=True, file_ok=False, help="Directory of the DL1 runs and truth files."
    ).tag(config=True)
    overwrite = Bool(False, help="Replace existing runs and truth files.").tag(config=True)

    aliases = {
        "date": "NightSchedule.date",
        "target": "NightSimulator.target",
        "ra": "NightSimulator.ra",
        "dec": "NightSimulator.dec",
        "n-runs": "NightSchedule.n_runs",
        "run-duration": "NightSchedule.run_duration",
        "wobble-offset": "NightSchedule.wobble_offset",
        "n-wobbles": "NightSchedule.n_wobbles",
        "runs-per-wobble": "NightSchedule.runs_per_wobble",
        "start-time": "NightSchedule.start_time",
        "era": "NightSimulator.era",
        "seed": "NightSimulator.seed",
        "background-reduction": "NightSimulator.background_reduction",
        ("o", "output-dir"): "SimulateNightTool.output_dir",
    }
    flags = flag(
        "overwrite",
        "SimulateNightTool.overwrite",
        "Replace existing runs and truth files.",
        "Refuse to replace existing files.",
    )
    classes = [
        NightSimulator,
        NightSchedule,
        ObservingConditions,
        TelescopeClocks,
        ShowerGenerator,
        ShowerImageModel,
        CameraNoiseModel,
        ClusterTrigger,
        SST1MArrayLayout,
        RunWriter,
        PedestalMonitor,
        ImageProcessor,
        DataWriter,
        *classes_with_traits(ImageCleaner),
        *classes_with_traits(ImageExtractor),
    ]

    def setup(self):
        """Check the arguments and outputs, plan the night."""
        if self.output_dir is None:
            raise ToolConfigurationError("sst1m-simulate-night needs --output-dir DIR")
        self.output_dir = self.output_dir.expanduser().absolute()
        if not self.output_dir.parent.is_dir():
            raise ToolConfigurationError(
                f"{self.output_dir.parent}: does not exist; create it or choose another "
                "--output-dir"
            )
        self.output_dir.mkdir(exist_ok=True)
        defaults = dl1_defaults()  # the DL1 processing of sst1m-r0-dl1 for data
        defaults.merge(self.config)
        self.update_config(defaults)

        subarray = SST1MArrayLayout(parent=self).subarray(DATA_TEL_IDS)
        self.simulator = NightSimulator(subarray=subarray, parent=self)
        self.writer = RunWriter(self.simulator, parent=self)
        self.plans = self.simulator.plan()
        self.simulator.start_night(self.plans)
        night = self.simulator.night
        names = [data_file_name(t, night, p.run_number) for p in self.plans for t in DATA_TEL_IDS]
        for name in [*names, "truth.json", "truth_events.fits"]:
            self.check_output(self.output_dir / name)
        self.log.info("%s: %d runs of %s", night, len(self.plans), self.simulator.target_name)

    def start(self):
        """Simulate and write the runs one at a time."""
        self.runs, tables = [], []
        night = self.simulator.night
        with deferred_interruption():
            for plan in tqdm(self.plans, desc=self.name, unit="run", disable=None):
                raise_if_interrupted()
                run = self.simulator.simulate_run(plan)
                files = self.writer.write_run(run, night, self.output_dir, self.prepare_output)
                self.runs.append(run_summary(run, files))
                tables.extend(truth_rows(run))
        self.truth_table = vstack(tables) if tables else None

    def finish(self):
        """Write the truth files."""
        truth = night_truth(self.simulator, self.runs, self.config)
        write_truth_files(self.output_dir, truth, self.truth_table, self.prepare_output)
        self.log.info("wrote %d runs to %s", len(self.runs), self.output_dir)


def main():
    """Run ``sst1m-simulate-night``."""
    SimulateNightTool().run()


if __name__ == "__main__":
    main()

"""``sst1m-simulate``: write a toy SST-1M Monte Carlo run as a standard ctapipe DL1 file.

The tool only wires the pieces together: the events come from
:class:`~ctapipe_sst1m.simulation.SST1MToyEventSource`, R1 waveforms (``--r1``) are
calibrated by ctapipe's ``CameraCalibrator``, images are cleaned and parameterised by
ctapipe's ``ImageProcessor`` (telescope frame) and everything, including the simulation
configuration and the distribution of all thrown showers, is written by ctapipe's
``DataWriter``. The output file is written under a temporary name beside the target and
renamed when complete.
"""

import ctapipe.fitting as ctapipe_fitting
import numpy as np
from ctapipe.calib import CameraCalibrator
from ctapipe.core import Provenance, Tool
from ctapipe.core.traits import Bool, Path, classes_with_traits, flag
from ctapipe.image import ImageCleaner, ImageProcessor
from ctapipe.image.extractor import ImageExtractor
from ctapipe.io import DataWriter
from tqdm.auto import tqdm
from traitlets.config import Config

from .. import image as _sst1m_image  # noqa: F401  (registers ImageCleanerSST)
from ..core import PendingOutput, reject_extra_arguments
from ..instrument import SST1MArrayLayout
from ..simulation import (
    CameraNoiseModel,
    ClusterTrigger,
    ShowerGenerator,
    ShowerImageModel,
    SST1MToyEventSource,
)

__all__ = ["SimulateTool", "main", "DEFAULT_PROCESSING_CONFIG"]

#: SST-1M processing defaults (sst1mpipe MC configuration), applied unless configured otherwise.
DEFAULT_PROCESSING_CONFIG = {
    "TailcutsImageCleaner": {
        "picture_threshold_pe": 8.0,
        "boundary_threshold_pe": 4.0,
        "min_picture_neighbors": 2,
    },
    "CameraCalibrator": {"image_extractor_type": "LocalPeakWindowSum"},
    "LocalPeakWindowSum": {
        "window_width": 7,
        "window_shift": 3,
        "apply_integration_correction": True,
    },
}


def _reseed_ctapipe_fit_rng(seed):
    """Reset the module-level generator ctapipe's robust timing fit draws samples from.

    ``timing_parameters`` uses ``ctapipe.fitting.FIT_RNG``, created once per process; resetting
    it makes a second run in the same process give identical timing parameters.
    """
    fit_rng = getattr(ctapipe_fitting, "FIT_RNG", None)
    if fit_rng is not None:
        fit_rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state


class SimulateTool(Tool):
    """Simulate toy SST-1M showers and write a ctapipe DL1 HDF5 file."""

    name = "sst1m-simulate"
    description = __doc__
    examples = """
    sst1m-simulate --particle gamma-diffuse --n-showers 200000 --seed 1 -o gamma_diffuse.dl1.h5
    sst1m-simulate --particle proton --n-showers 1000000 --seed 2 --zenith 40 -o proton.dl1.h5
    sst1m-simulate --particle gamma --n-showers 20000 --seed 3 --r1 -o gamma_r1.h5
    """

    output_path = Path(
        default_value=None,
        allow_none=True,
        directory_ok=False,
        help="Output DL1 HDF5 file.",
    ).tag(config=True)
    overwrite = Bool(False, help="Replace the output file if it exists.").tag(config=True)

    aliases = {
        ("o", "output"): "SimulateTool.output_path",
        "particle": "ShowerGenerator.particle",
        "n-showers": "SST1MToyEventSource.n_showers",
        "seed": "SST1MToyEventSource.seed",
        "zenith": "SST1MToyEventSource.zenith",
        "azimuth": "SST1MToyEventSource.azimuth",
        "telescopes": "SST1MToyEventSource.telescopes",
        "obs-id": "SST1MToyEventSource.obs_id",
        "image-cleaner-type": "ImageProcessor.image_cleaner_type",
    }
    flags = {
        **flag(
            "overwrite",
            "SimulateTool.overwrite",
            "Replace the output file if it exists.",
            "Refuse to replace an existing output file.",
        ),
        "r1": (
            {
                "SST1MToyEventSource": {"waveforms": True},
                "DataWriter": {"write_r1_waveforms": True},
            },
            "Simulate R1 waveforms, calibrate them to DL1 and also store the waveforms.",
        ),
        **flag(
            "write-images",
            "DataWriter.write_dl1_images",
            "Store the DL1 images (and true images) as well as the parameters.",
            "Store only DL1 parameters.",
        ),
    }
    classes = (
        [
            SST1MToyEventSource,
            ShowerGenerator,
            ShowerImageModel,
            CameraNoiseModel,
            ClusterTrigger,
            SST1MArrayLayout,
            CameraCalibrator,
            ImageProcessor,
            DataWriter,
        ]
        + classes_with_traits(ImageCleaner)
        + classes_with_traits(ImageExtractor)
    )

    def setup(self):
        reject_extra_arguments(self)
        """Check the output, build the source, calibrator, image processor and writer."""
        if self.output_path is None:
            self.log.critical("no output file given; use -o/--output OUT.h5")
            self.exit(1)
        self.output_path = self.output_path.expanduser().absolute()
        if self.output_path.exists() and not self.overwrite:
            self.log.critical(
                "output file %s exists; use --overwrite or choose another -o", self.output_path
            )
            self.exit(1)
        if not self.output_path.parent.is_dir():
            self.log.critical(
                "output directory %s does not exist; create it first", self.output_path.parent
            )
            self.exit(1)

        defaults = Config(DEFAULT_PROCESSING_CONFIG)
        defaults.merge(self.config)
        self.update_config(defaults)

        try:
            self.source = SST1MToyEventSource(parent=self)
        except ValueError as err:
            self.log.critical("%s", err)
            self.exit(1)
        # the existence check above already decided about overwriting; a failure removes the
        # temporary file when the tool's exit stack closes
        self._output = self.enter_context(PendingOutput(self.output_path, overwrite=True))
        self.calibrate = CameraCalibrator(subarray=self.source.subarray, parent=self)
        self.process_images = ImageProcessor(subarray=self.source.subarray, parent=self)
        self.writer = DataWriter(
            event_source=self.source, output_path=self._output.path, overwrite=True, parent=self
        )
        self.n_events = 0
        _reseed_ctapipe_fit_rng(self.source.seed)

    def start(self):
        """Simulate, process and write the events."""
        generator = self.source.shower_generator
        self.log.info(
            "simulating %d %s showers (reuse %d) at zenith %.1f deg, seed %d",
            self.source.n_showers,
            generator.particle,
            generator.shower_reuse,
            self.source.zenith,
            self.source.seed,
        )
        with tqdm(
            total=self.source.n_showers, unit=" showers", desc="sst1m-simulate", disable=None
        ) as bar:
            for event in self.source:
                if self.source.waveforms:
                    self.calibrate(event)
                self.process_images(event)
                self.writer(event)
                self.n_events += 1
                bar.update(self.source.showers_done - bar.n)
            bar.update(self.source.n_showers - bar.n)

    def finish(self):
        """Write the thrown-shower distribution, close the file and move it into place."""
        if not hasattr(self, "writer"):
            return
        self.writer.write_simulated_shower_distributions(self.source.simulated_shower_distributions)
        self.writer.finish()
        self._output.commit()
        Provenance().add_output_file(str(self.output_path), role="DL1/Event")
        self.log.info("wrote %d triggered events to %s", self.n_events, self.output_path)


def main():
    """Run the ``sst1m-simulate`` tool."""
    SimulateTool().run()


if __name__ == "__main__":
    main()

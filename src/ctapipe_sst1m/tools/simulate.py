"""``sst1m-simulate``: write a toy SST-1M Monte Carlo run as a standard ctapipe DL1 file.

The tool wires the arguments to `~ctapipe_sst1m.simulation.ToyDL1Production` and runs it: toy
events, DL1 parameters (``ImageProcessor``), the stereo geometry of ``ShowerProcessor``
(HillasReconstructor, as ``sst1m-r0-dl1`` writes for simulations) and the simulation
bookkeeping, all written by ctapipe's ``DataWriter``. The output can be given directly to
``sst1m-train-models`` (mono and stereo) and ``sst1m-dl1-dl2``. It is written under a temporary
name beside the target and renamed when complete; a failure or a signal removes it.
"""

from ctapipe.calib import CameraCalibrator
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, Path, classes_with_traits, flag
from ctapipe.image import ImageCleaner, ImageProcessor
from ctapipe.image.extractor import ImageExtractor
from ctapipe.io import DataWriter
from ctapipe.reco import ShowerProcessor
from ctapipe.reco.reconstructor import Reconstructor
from tqdm.auto import tqdm

from ..core import SST1MTool
from ..instrument import SST1MArrayLayout
from ..simulation import (
    CameraNoiseModel,
    ClusterTrigger,
    ShowerGenerator,
    ShowerImageModel,
    SST1MToyEventSource,
)
from ..simulation.production import (
    DEFAULT_PROCESSING_CONFIG,
    ToyDL1Production,
    default_processing_config,
)

__all__ = ["SimulateTool", "main", "DEFAULT_PROCESSING_CONFIG"]


class SimulateTool(SST1MTool, Tool):
    """Simulate toy SST-1M showers and write a ctapipe DL1 HDF5 file."""

    name = "sst1m-simulate"
    description = __doc__
    examples = """
    sst1m-simulate --particle gamma-diffuse --n-showers 200000 --seed 1 -o gamma_diffuse.dl1.h5
    sst1m-simulate --particle proton --n-showers 1000000 --seed 2 --zenith '40 deg' -o proton.dl1.h5
    sst1m-simulate --particle gamma --n-showers 20000 --seed 3 --r1 -o gamma_r1.h5
    """

    output_path = Path(
        default_value=None, allow_none=True, directory_ok=False, help="Output DL1 HDF5 file."
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
            ShowerProcessor,
            DataWriter,
        ]
        + classes_with_traits(ImageCleaner)
        + classes_with_traits(ImageExtractor)
        + classes_with_traits(Reconstructor)
    )

    def setup(self):
        """Check the output, then build the production chain (defaults below the config)."""
        if self.output_path is None:
            raise ToolConfigurationError("no output file given; use -o/--output OUT.h5")
        self._output = self.prepare_output(self.output_path, suffix=".h5")
        defaults = default_processing_config()
        defaults.merge(self.config)
        self.update_config(defaults)
        try:
            self.production = ToyDL1Production(self._output.path, parent=self)
        except ValueError as err:
            raise ToolConfigurationError(str(err)) from None
        self.enter_context(self.production)

    def start(self):
        """Simulate, process and write the events."""
        source = self.production.source
        self.log.info(
            "simulating %d %s showers (reuse %d) at zenith %s, seed %d",
            source.n_showers,
            source.shower_generator.particle,
            source.shower_generator.shower_reuse,
            source.zenith,
            source.seed,
        )
        with tqdm(total=source.n_showers, unit=" showers", desc=self.name, disable=None) as bar:
            self.production.run(progress=lambda done: bar.update(done - bar.n))
            bar.update(source.n_showers - bar.n)

    def finish(self):
        """Write the thrown-shower distribution, close the file and move it into place."""
        self.production.finish()
        self._output.commit()
        Provenance().add_output_file(str(self._output.target), role="DL1/Event")
        self.log.info(
            "wrote %d triggered events to %s", self.production.n_events, self._output.target
        )


def main():
    """Run the ``sst1m-simulate`` tool."""
    SimulateTool().run()


if __name__ == "__main__":
    main()

"""sst1m-train-models: energy, disp and gamma/hadron forests for SST-1M, mono and stereo.

One command trains, per telescope (ctapipe keys models by telescope description; the two
SST-1M telescopes differ by pulse shape, so each gets its own models), the energy regressor,
the disp norm + sign reconstructor and the gamma/hadron classifier, for the mono and the
stereo feature sets, from MC DL1 (diffuse gammas + diffuse protons, e.g. straight from
``sst1m-simulate``). A part of the events is held out and used to measure the performance
written to ``performance.json`` and to the PNG report. The training and the layout of
``MODEL_DIR`` (``models.json``, ``performance.json``, ``{mono,stereo}/*.pkl``, ``report/``)
are `ctapipe_sst1m.reco.trainer`.
"""

from pathlib import Path

from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import CaselessStrEnum, Float, Int, List, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.reco import DispReconstructor

from ..core import SST1MTool, check_writable_directory
from ..reco import SST1MEnergyRegressor, SST1MParticleClassifier
from ..reco.evaluation import PerformanceEvaluator
from ..reco.model_bank import file_node
from ..reco.trainer import (
    MODES,
    default_training_config,
    input_file_trait,
    mode_config_trait,
    model_set_files,
    node_angle_trait,
    open_trainer,
    train_modes,
    training_metadata,
    write_model_set,
)
from ..reco.training import TrainingSample

__all__ = ["TrainModelsTool", "main", "default_training_config"]


class TrainModelsTool(SST1MTool, Tool):
    """Train SST-1M energy, disp and gamma/hadron models (mono and stereo) in one go."""

    name = "sst1m-train-models"
    description = __doc__
    examples = """
    sst1m-train-models --gamma gamma_diffuse.dl1.h5 --proton proton.dl1.h5 -o models/
    sst1m-train-models --gamma g.h5 --proton p.h5 -o models/ --modes mono -c small_forests.yaml
    """

    gamma_path = input_file_trait("MC DL1 file of diffuse gammas.")
    proton_path = input_file_trait(
        "MC DL1 file of diffuse protons (needed for the gamma/hadron models)."
    )
    output_dir = PathTrait(
        allow_none=True,
        default_value=None,
        directory_ok=True,
        file_ok=False,
        help="Directory receiving the models, their metadata and the performance report.",
    ).tag(config=True)
    modes = List(
        CaselessStrEnum(MODES), default_value=list(MODES), help="Model sets to train."
    ).tag(config=True)
    mono_config = mode_config_trait("mono")
    stereo_config = mode_config_trait("stereo")
    node_zenith = node_angle_trait(
        "Zenith of the model node (e.g. '20 deg'); default: median MC pointing."
    )
    node_azimuth = node_angle_trait(
        "Azimuth of the model node (e.g. '180 deg'); default: mean MC pointing."
    )
    node_nsb = Float(None, allow_none=True, help="NSB level of the model node, if known.").tag(
        config=True
    )
    model_compression = Int(
        0,
        min=0,
        max=9,
        help="zlib level of the model files (0: a plain, uncompressed pickle; 1-9: a"
        " compressed joblib file). Uncompressed forests are about three times larger and load"
        " about four times faster, a fixed cost of every DL2 run; both load in ctapipe.",
    ).tag(config=True)
    chunk_size = Int(
        100_000, min=1, help="Telescope events read at once (memory bound while reading)."
    ).tag(config=True)

    aliases = {
        ("g", "gamma"): "TrainModelsTool.gamma_path",
        ("p", "proton"): "TrainModelsTool.proton_path",
        ("o", "output"): "TrainModelsTool.output_dir",
        "output-dir": "TrainModelsTool.output_dir",
        "modes": "TrainModelsTool.modes",
        "model-compression": "TrainModelsTool.model_compression",
        ("c", "config"): "Tool.config_files",
    }
    flags = {
        **flag(
            "overwrite",
            "TrainModelsTool.overwrite",
            "Replace existing models in the output directory.",
            "Refuse to replace models.",
        ),
    }
    classes = [
        TrainingSample,
        PerformanceEvaluator,
        SST1MEnergyRegressor,
        SST1MParticleClassifier,
        DispReconstructor,
    ]

    def setup(self):
        if self.gamma_path is None or self.output_dir is None:
            raise ToolConfigurationError("give --gamma GAMMA_DL1 and -o MODEL_DIR")
        self.output_dir = Path(self.output_dir).expanduser().absolute()
        self.check_output(*model_set_files(self.output_dir, self.modes))
        out = self.output_dir
        check_writable_directory(out if out.exists() else out.parent)
        files = {"gamma": self.gamma_path, "proton": self.proton_path}
        self.trainer = open_trainer(self, files, TrainingSample(parent=self), self.chunk_size)
        self.evaluate = PerformanceEvaluator(parent=self)

    def start(self):
        configs = {"mono": self.mono_config, "stereo": self.stereo_config}
        configs = {mode: configs[mode] for mode in self.modes}
        trained, performance = train_modes(self.trainer, self.evaluate, configs, self.config)
        self.output_dir.mkdir(exist_ok=True)
        node = file_node(self.gamma_path, self.node_zenith, self.node_azimuth, self.node_nsb)
        meta = training_metadata(self.trainer, node, self.get_current_config())
        write_model_set(
            self.output_dir, trained, performance, meta, self.overwrite, self.model_compression
        )
        from ..reco.report import write_report

        write_report(self.output_dir / "report", performance, trained)
        self.log.info("models written to %s", self.output_dir)


def main():
    TrainModelsTool().run()


if __name__ == "__main__":
    main()

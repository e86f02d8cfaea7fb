"""sst1m-train-models: energy, disp and gamma/hadron forests for SST-1M, mono and stereo.

One command trains, per telescope (ctapipe keys models by telescope description; the two
SST-1M telescopes differ by pulse shape, so each gets its own models), the energy regressor,
the disp norm + sign reconstructor and the gamma/hadron classifier, for the mono and the
stereo feature sets, from merged MC DL1 (diffuse gammas + diffuse protons). A part of the
events is held out and used to measure the performance written to ``performance.json`` and
to the PNG report. Output layout::

    MODEL_DIR/models.json        versions, configs, node, features, SHA-256 of every model
    MODEL_DIR/training_config.json
    MODEL_DIR/performance.json
    MODEL_DIR/{mono,stereo}/{energy,disp,classifier}.pkl   stock ctapipe reconstructor pickles
    MODEL_DIR/report/*.png
"""

import json
from importlib.resources import files
from pathlib import Path

import tables
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Float, Int, List, Unicode, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.io import TableLoader
from ctapipe.reco import DispReconstructor
from traitlets.config import Config

from ..core import reject_extra_arguments
from ..reco import SST1MEnergyRegressor, SST1MParticleClassifier
from ..reco.evaluation import evaluate_mode
from ..reco.metadata import file_sha256, model_metadata, write_model, write_models_json
from ..reco.model_bank import file_pointing
from ..reco.report import write_report
from ..reco.training import (
    TrainingSample,
    add_predictions,
    read_training_table,
    required_columns,
)

__all__ = ["TrainModelsTool", "main", "default_training_config"]

MODES = ("mono", "stereo")
MODEL_FILES = {"energy": "energy.pkl", "disp": "disp.pkl", "classifier": "classifier.pkl"}


def default_training_config(mode):
    """Path of the packaged default training configuration of ``mode`` (mono or stereo)."""
    return Path(str(files("ctapipe_sst1m") / "resources" / "config" / f"train_{mode}.yaml"))


class TrainModelsTool(Tool):
    """Train SST-1M energy, disp and gamma/hadron models (mono and stereo) in one go."""

    name = "sst1m-train-models"
    description = __doc__
    examples = """
    sst1m-train-models --gamma gamma_diffuse.dl1.h5 --proton proton.dl1.h5 -o models/
    sst1m-train-models --gamma g.h5 --proton p.h5 -o models/ --modes mono -c small_forests.yaml
    """

    gamma_path = PathTrait(
        exists=True,
        directory_ok=False,
        allow_none=True,
        default_value=None,
        help="Merged MC DL1 file of diffuse gammas.",
    ).tag(config=True)
    proton_path = PathTrait(
        exists=True,
        directory_ok=False,
        allow_none=True,
        default_value=None,
        help="Merged MC DL1 file of diffuse protons (needed for the gamma/hadron models).",
    ).tag(config=True)
    output_dir = PathTrait(
        allow_none=True,
        default_value=None,
        directory_ok=True,
        file_ok=False,
        help="Directory receiving the models, their metadata and the performance report.",
    ).tag(config=True)
    modes = List(
        Unicode(),
        default_value=list(MODES),
        help="Which model sets to train: any of mono and stereo.",
    ).tag(config=True)
    mono_config = PathTrait(
        default_value=default_training_config("mono"),
        exists=True,
        directory_ok=False,
        help="Training configuration (features, forests, cuts) of the mono models.",
    ).tag(config=True)
    stereo_config = PathTrait(
        default_value=default_training_config("stereo"),
        exists=True,
        directory_ok=False,
        help="Training configuration (features, forests, cuts) of the stereo models.",
    ).tag(config=True)
    node_zenith_deg = Float(
        None,
        allow_none=True,
        help="Zenith of the model node in degrees; default: median MC pointing.",
    ).tag(config=True)
    node_azimuth_deg = Float(
        None,
        allow_none=True,
        help="Azimuth of the model node in degrees; default: median MC pointing.",
    ).tag(config=True)
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
    chunk_size = Float(
        100_000, help="Telescope events read at once (memory bound while reading)."
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
    classes = [TrainingSample, SST1MEnergyRegressor, SST1MParticleClassifier, DispReconstructor]

    def setup(self):
        reject_extra_arguments(self)
        if self.gamma_path is None or self.output_dir is None:
            raise ToolConfigurationError("give --gamma GAMMA_DL1 and -o MODEL_DIR")
        bad = sorted(set(self.modes) - set(MODES))
        if bad:
            raise ToolConfigurationError(f"unknown --modes {bad}; choose from {list(MODES)}")
        self.output_dir = Path(self.output_dir)
        existing = [self.output_dir / m / f for m in self.modes for f in MODEL_FILES.values()]
        self.check_output(*existing)
        self.sample = TrainingSample(parent=self)
        self.gamma_loader = self.enter_context(TableLoader(self.gamma_path, parent=self))
        self.proton_loader = None
        if self.proton_path is not None:
            self.proton_loader = self.enter_context(TableLoader(self.proton_path, parent=self))
            if self.proton_loader.subarray != self.gamma_loader.subarray:
                raise ToolConfigurationError(
                    f"{self.proton_path}: subarray differs from {self.gamma_path};"
                    " simulate both with the same telescopes"
                )
        self.subarray = self.gamma_loader.subarray
        Provenance().add_input_file(str(self.gamma_path), role="gamma DL1")
        if self.proton_path is not None:
            Provenance().add_input_file(str(self.proton_path), role="proton DL1")

    def _mode_config(self, mode):
        """Mode file + the user's -c/command-line config on top (user wins)."""
        path = self.mono_config if mode == "mono" else self.stereo_config
        cfg = Config(_read_yaml(path))
        cfg.merge(self.config)
        return cfg, path

    def _build(self, cfg):
        energy = SST1MEnergyRegressor(self.subarray, config=cfg)
        disp = DispReconstructor(self.subarray, config=cfg)
        classifier = SST1MParticleClassifier(self.subarray, config=cfg)
        return energy, disp, classifier

    def _read(self, loader, reconstructors, tel_type, floor, capacity, quality):
        """Bounded (train, test) sample of one particle and telescope type."""
        return read_training_table(
            loader,
            tel_type,
            lambda names: required_columns(reconstructors, names),
            int(self.chunk_size),
            floor,
            self.sample,
            capacity,
            quality=quality,
            log=self.log,
        )

    def _train_mode(self, mode):
        cfg, cfg_path = self._mode_config(mode)
        energy, disp, classifier = self._build(cfg)
        two_stage = any(f in classifier.features for f in ("log_reco_energy", "reco_disp_norm"))
        recos = [energy, disp, classifier]
        tests = {}
        for tel_type in self.subarray.telescope_types:
            tel_ids = self.subarray.get_tel_ids_for_type(tel_type)
            g_train, g_test = self._read(
                self.gamma_loader,
                recos,
                tel_type,
                self.sample.gamma_min_true_energy,
                self.sample.train_capacity(two_stage and self.proton_loader is not None),
                quality=recos,
            )
            if mode == "stereo":
                missing = [
                    c
                    for c in ("HillasReconstructor_is_valid", "HillasReconstructor_h_max")
                    if c not in g_train.colnames
                ]
                if missing:
                    raise ToolConfigurationError(
                        f"{self.gamma_path}: stereo features {missing} missing; run the stereo"
                        " geometry (sst1m-dl1-stereo / ctapipe-process with HillasReconstructor)"
                        " or train with --modes mono"
                    )
            self.log.info(
                "%s %s: %d train / %d test gammas", mode, tel_ids, len(g_train), len(g_test)
            )
            n_e = self.sample.fit_energy(energy, tel_type, g_train)
            n_d = self.sample.fit_disp(disp, tel_type, g_train)
            self.log.info("%s %s: energy on %d, disp on %d events", mode, tel_ids, n_e, n_d)
            p_train = p_test = None
            if self.proton_loader is not None:
                p_train, p_test = self._read(
                    self.proton_loader,
                    recos,
                    tel_type,
                    self.sample.proton_min_true_energy,
                    self.sample.n_training_events,
                    quality=[classifier],
                )
                if two_stage:
                    g_first, g_second = self.sample.split_two_stage(g_train)
                    tmp_energy, tmp_disp, _ = self._build(cfg)
                    self.sample.fit_energy(tmp_energy, tel_type, g_first)
                    self.sample.fit_disp(tmp_disp, tel_type, g_first)
                    g_cls = add_predictions([tmp_energy, tmp_disp], tel_type, g_second)
                    p_cls = add_predictions([tmp_energy, tmp_disp], tel_type, p_train.copy())
                else:
                    g_cls, p_cls = g_train, p_train
                n_g, n_p = self.sample.fit_classifier(classifier, tel_type, g_cls, p_cls)
                self.log.info("%s %s: classifier on %d γ + %d p", mode, tel_ids, n_g, n_p)
            tests[tel_type] = (g_test, p_test)
        if self.proton_loader is None:
            recos = [energy, disp]
        return recos, tests, cfg_path

    def start(self):
        self.output_dir.mkdir(parents=True, exist_ok=True)
        performance = {}
        trained = {}
        for mode in self.modes:
            recos, tests, cfg_path = self._train_mode(mode)
            performance[mode], predictions = evaluate_mode(recos, tests, self.subarray, mode)
            trained[mode] = (recos, cfg_path, predictions)
        self._write(trained, performance)

    def _node(self):
        zenith, azimuth = self.node_zenith_deg, self.node_azimuth_deg
        if zenith is None or azimuth is None:
            with tables.open_file(self.gamma_path) as f:
                file_zenith, file_azimuth = file_pointing(f)
            zenith = file_zenith if zenith is None else zenith
            azimuth = file_azimuth if azimuth is None else azimuth

        def _f(v):
            return None if v is None else float(v)

        return {"zenith_deg": _f(zenith), "azimuth_deg": _f(azimuth), "nsb": self.node_nsb}

    def _write(self, trained, performance):
        node = self._node()
        meta = model_metadata(
            node=node,
            extra={
                "gamma_file": str(self.gamma_path),
                "proton_file": str(self.proton_path) if self.proton_path else None,
                "telescopes": {str(t): str(self.subarray.tel[t]) for t in self.subarray.tel_ids},
                "modes": {},
            },
        )
        for mode, (recos, cfg_path, _) in trained.items():
            mode_cfg = _read_yaml(cfg_path)
            meta["config"][mode] = {"file": str(cfg_path), "content": mode_cfg}
            entries = {}
            for kind, reco in zip(("energy", "disp", "classifier"), recos, strict=False):
                path = self.output_dir / mode / MODEL_FILES[kind]
                path.parent.mkdir(parents=True, exist_ok=True)
                write_model(
                    reco,
                    path,
                    {**meta, "mode": mode, "kind": kind},
                    self.overwrite,
                    compress=self.model_compression,
                )
                entries[kind] = {
                    "file": f"{mode}/{MODEL_FILES[kind]}",
                    "sha256": file_sha256(path),
                    "class": reco.__class__.__name__,
                    "prefix": reco.prefix,
                    "features": list(reco.features),
                }
            meta["modes"][mode] = entries
        meta["config"]["tool"] = json.loads(json.dumps(self.get_current_config(), default=str))
        write_models_json(self.output_dir, meta)
        _write_json(self.output_dir / "performance.json", performance)
        write_report(self.output_dir / "report", performance, trained)
        Provenance().add_output_file(str(self.output_dir / "models.json"), role="model metadata")
        Provenance().add_output_file(str(self.output_dir / "performance.json"), role="performance")
        self.log.info("models written to %s", self.output_dir)

    def finish(self):
        self.log.info("done")


def _read_yaml(path):
    import yaml

    with open(path) as f:
        return yaml.safe_load(f) or {}


def _write_json(path, data):
    from ..core import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str))


def main():
    TrainModelsTool().run()


if __name__ == "__main__":
    main()

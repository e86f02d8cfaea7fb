"""Training of one SST-1M model set (energy, disp, gamma/hadron) per mode, and its files.

`ModelSetTrainer` is what ``sst1m-train-models`` runs for each mode (mono, stereo): it builds
the stock ctapipe reconstructors from the mode's configuration, reads bounded training and test
samples per telescope type (`~ctapipe_sst1m.reco.training.read_training_table`), fits the
energy and disp models on gammas and the classifier on gammas and protons, optionally in two
stages (the classifier sees the reconstructed energy and disp of temporary models trained on
gammas it is not trained on). `write_model_set` writes the model directory.

A sample that leaves too few events for a model is refused with one line naming the file, the
particle, the telescope, the count after each cut and the number needed
(`TooFewEventsError`), instead of scikit-learn's "Found array with 0 sample(s)".
"""

import json
from pathlib import Path

import astropy.units as u
from ctapipe.core import Provenance
from ctapipe.core.traits import AstroQuantity
from ctapipe.core.traits import Path as PathTrait
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import TableLoader
from ctapipe.reco import DispReconstructor

from ..config.processing import MODELS_JSON_KEY, read_processing_record
from ..core import SST1MInputError, atomic_output, packaged_config_path, read_config_file
from ..instrument import telescope_types_by_id
from .dl2_models import check_dl1_file, open_dl1_file, warn_missing_tables
from .forests import SST1MEnergyRegressor, SST1MParticleClassifier
from .metadata import file_sha256, model_metadata, write_model, write_models_json
from .training import (
    TooFewEventsError,
    add_predictions,
    read_training_table,
    required_columns,
)

__all__ = [
    "MODEL_FILES",
    "MODES",
    "ModelSetTrainer",
    "TooFewEventsError",
    "default_training_config",
    "input_file_trait",
    "mode_config_trait",
    "node_angle_trait",
    "mode_config",
    "model_set_files",
    "open_trainer",
    "train_modes",
    "training_loaders",
    "training_metadata",
    "write_model_set",
]

MODES = ("mono", "stereo")
MODEL_FILES = {"energy": "energy.pkl", "disp": "disp.pkl", "classifier": "classifier.pkl"}
#: columns the stereo models need from the shower geometry (ShowerProcessor)
STEREO_COLUMNS = ("HillasReconstructor_is_valid", "HillasReconstructor_h_max")


def default_training_config(mode):
    """Path of the packaged default training configuration of ``mode`` (mono or stereo)."""
    return packaged_config_path(f"train_{mode}.yaml")


def input_file_trait(help_text):
    """A configurable path of an existing training file (None: not given)."""
    return PathTrait(None, allow_none=True, exists=True, directory_ok=False, help=help_text).tag(
        config=True
    )


def mode_config_trait(mode):
    """The configurable training configuration file of ``mode`` (default: the packaged one)."""
    return PathTrait(
        default_value=default_training_config(mode),
        exists=True,
        directory_ok=False,
        help=f"Training configuration (features, forests, cuts) of the {mode} models.",
    ).tag(config=True)


def node_angle_trait(help_text):
    """A configurable angle of the model node (None: from the MC pointing)."""
    angle = u.physical.angle
    return AstroQuantity(
        default_value=None, allow_none=True, physical_type=angle, help=help_text
    ).tag(config=True)


class ModelSetTrainer:
    """Train the model set of one mode for every telescope type of the gamma file.

    Parameters
    ----------
    subarray : ctapipe.instrument.SubarrayDescription
        Subarray of the training files.
    gamma_loader, proton_loader : ctapipe.io.TableLoader
        Loaders of the gamma and (optional) proton files.
    sample : TrainingSample
        Sizes, splits and energy floors.
    chunk_size : int
        Telescope events read at once.
    files : dict
        ``{"gamma": path, "proton": path or None}`` for the messages.
    log : logging.Logger
    skip_tel_ids : set of int
        Telescopes without parameter tables: their telescope types are not trained.
    """

    def __init__(
        self, subarray, gamma_loader, proton_loader, sample, chunk_size, files, log, skip_tel_ids=()
    ):
        self.subarray = subarray
        self.gamma_loader = gamma_loader
        self.proton_loader = proton_loader
        self.sample = sample
        self.chunk_size = int(chunk_size)
        self.files = files
        self.log = log
        self.skip_tel_ids = set(skip_tel_ids)

    def build(self, config):
        """(energy, disp, classifier) reconstructors configured by ``config``."""
        energy = SST1MEnergyRegressor(self.subarray, config=config)
        disp = DispReconstructor(self.subarray, config=config)
        classifier = SST1MParticleClassifier(self.subarray, config=config)
        return energy, disp, classifier

    def _read(self, particle, reconstructors, tel_type, floor, capacity, quality):
        loader = self.gamma_loader if particle == "gamma" else self.proton_loader
        stats = {}
        train, test = read_training_table(
            loader,
            tel_type,
            lambda names: required_columns(reconstructors, names),
            self.chunk_size,
            floor,
            self.sample,
            capacity,
            quality=quality,
            log=self.log,
            stats=stats,
        )
        self.sample.check_read(train, stats, self._what(particle, tel_type), floor)
        return train, test

    def _what(self, particle, tel_type):
        tel_ids = ", ".join(str(t) for t in self.subarray.get_tel_ids_for_type(tel_type))
        return f"{self.files[particle]}: {particle} telescope events of tel {tel_ids}"

    def train(self, mode, config):
        """Fit the models of ``mode``; returns ``(reconstructors, {tel_type: (g_test, p_test)})``.

        Raises `TooFewEventsError` when a model is left with too few events, and
        `SST1MInputError` when stereo models are asked for a file without stereo geometry.
        """
        energy, disp, classifier = self.build(config)
        two_stage = any(f in classifier.features for f in ("log_reco_energy", "reco_disp_norm"))
        recos = [energy, disp, classifier]
        with_protons = self.proton_loader is not None
        tests = {}
        for tel_type in telescope_types_by_id(self.subarray):
            tel_ids = self.subarray.get_tel_ids_for_type(tel_type)
            if set(tel_ids) & self.skip_tel_ids:
                skipped = ", ".join(str(int(t)) for t in tel_ids)
                self.log.warning("%s models: tel %s skipped (no parameter table)", mode, skipped)
                continue
            g_train, g_test = self._read(
                "gamma",
                recos,
                tel_type,
                self.sample.gamma_min_true_energy,
                self.sample.train_capacity(two_stage and with_protons),
                quality=recos,
            )
            if mode == "stereo":
                missing = [c for c in STEREO_COLUMNS if c not in g_train.colnames]
                if missing:
                    raise SST1MInputError(
                        f"{self.files['gamma']}: stereo features {missing} missing; make the DL1"
                        " with sst1m-simulate, sst1m-r0-dl1 or sst1m-dl1-stereo (they write the"
                        " HillasReconstructor geometry) or train with --modes mono"
                    )
            self.log.info(
                "%s %s: %d train / %d test gammas", mode, tel_ids, len(g_train), len(g_test)
            )
            what = self._what("gamma", tel_type)
            n_e = self.sample.fit_energy(energy, tel_type, g_train, what=what)
            n_d = self.sample.fit_disp(disp, tel_type, g_train, what=what)
            self.log.info("%s %s: energy on %d, disp on %d events", mode, tel_ids, n_e, n_d)
            p_test = None
            if with_protons:
                p_train, p_test = self._read(
                    "proton",
                    recos,
                    tel_type,
                    self.sample.proton_min_true_energy,
                    self.sample.n_training_events,
                    quality=[classifier],
                )
                g_cls, p_cls = self._classifier_samples(
                    config, two_stage, tel_type, g_train, p_train, what
                )
                n_g, n_p = self.sample.fit_classifier(
                    classifier,
                    tel_type,
                    g_cls,
                    p_cls,
                    what=(what, self._what("proton", tel_type)),
                )
                self.log.info("%s %s: classifier on %d γ + %d p", mode, tel_ids, n_g, n_p)
            tests[tel_type] = (g_test, p_test)
        if not with_protons:
            recos = [energy, disp]
        return recos, tests

    def _classifier_samples(self, config, two_stage, tel_type, g_train, p_train, what):
        """Classifier inputs; two-stage: predictions of temporary models on unseen gammas."""
        if not two_stage:
            return g_train, p_train
        g_first, g_second = self.sample.split_two_stage(g_train)
        tmp_energy, tmp_disp, _ = self.build(config)
        first = f"{what} (first stage)"
        self.sample.fit_energy(tmp_energy, tel_type, g_first, what=first)
        self.sample.fit_disp(tmp_disp, tel_type, g_first, what=first)
        g_cls = add_predictions([tmp_energy, tmp_disp], tel_type, g_second)
        p_cls = add_predictions([tmp_energy, tmp_disp], tel_type, p_train.copy())
        return g_cls, p_cls


def training_loaders(files, parent, log):
    """``({particle: TableLoader}, skipped tel_ids)`` of the training files, after the checks of
    every DL1 reader.

    ``files`` maps ``gamma``/``proton`` to a path or None. Each file must be a ctapipe DL1 file
    (`~ctapipe_sst1m.reco.dl2_models.check_dl1_file`); triggered telescopes without parameter
    table in any file are named in a warning and skipped; gammas and protons must share their
    subarray.
    """
    loaders, skipped = {}, set()
    for particle, path in files.items():
        if path is None:
            continue
        with open_dl1_file(path) as h5file:
            check_dl1_file(h5file, path)
            subarray = SubarrayDescription.from_hdf(h5file)
            consequence = "are not used: that telescope gets no models"
            skipped |= set(warn_missing_tables(h5file, subarray, path, log, consequence))
        loaders[particle] = TableLoader(path, parent=parent)
        Provenance().add_input_file(str(path), role=f"{particle} DL1")
    if "proton" in loaders and loaders["proton"].subarray != loaders["gamma"].subarray:
        for loader in loaders.values():
            loader.close()
        raise SST1MInputError(
            f"{files['proton']}: subarray differs from {files['gamma']}; simulate both with the"
            " same telescopes"
        )
    return loaders, skipped


def open_trainer(tool, files, sample, chunk_size):
    """A `ModelSetTrainer` on the training files, its loaders closed when ``tool`` exits.

    ``files`` maps ``gamma``/``proton`` to a path or None (see `training_loaders`).
    """
    loaders, skipped = training_loaders(files, tool, tool.log)
    loaders = {particle: tool.enter_context(loader) for particle, loader in loaders.items()}
    gammas = loaders["gamma"]
    return ModelSetTrainer(
        gammas.subarray, gammas, loaders.get("proton"), sample, chunk_size, files, tool.log, skipped
    )


def model_set_files(output_dir, modes):
    """The model files a training of ``modes`` writes into ``output_dir``."""
    return [Path(output_dir) / m / f for m in modes for f in MODEL_FILES.values()]


def train_modes(trainer, evaluate, mode_configs, user_config):
    """Train and evaluate every mode of ``mode_configs`` ({mode: config path}).

    Returns ``(trained, performance)``: {mode: (reconstructors, config path, test scores)} and
    {mode: performance summary of the held-out events} (`PerformanceEvaluator` ``evaluate``).
    """
    trained, performance = {}, {}
    for mode, cfg_path in mode_configs.items():
        recos, tests = trainer.train(mode, mode_config(cfg_path, user_config))
        performance[mode], scores = evaluate(recos, tests, trainer.subarray, mode)
        trained[mode] = (recos, cfg_path, scores)
    return trained, performance


def training_metadata(trainer, node, tool_config):
    """The `~ctapipe_sst1m.reco.metadata.model_metadata` of a training (for ``models.json``)."""
    subarray = trainer.subarray
    meta = model_metadata(
        node=node,
        extra={
            "gamma_file": str(trainer.files["gamma"]),
            "proton_file": str(trainer.files["proton"]) if trainer.files["proton"] else None,
            "telescopes": {str(t): str(subarray.tel[t]) for t in subarray.tel_ids},
        },
    )
    meta["config"]["tool"] = json.loads(json.dumps(tool_config, default=str))
    # extraction, cleaning (and NSB bin) of the training data, compared by sst1m-dl1-dl2
    meta[MODELS_JSON_KEY] = read_processing_record(trainer.files["gamma"])
    return meta


def mode_config(path, user_config):
    """The mode file's configuration with ``user_config`` (``-c``, command line) on top."""
    config = read_config_file(path)
    config.merge(user_config)
    return config


def write_model_set(output_dir, trained, performance, meta, overwrite, compress):
    """Write the models, ``models.json`` and ``performance.json`` of a training.

    ``trained`` maps mode to ``(reconstructors, config_path, …)``; ``meta`` is the common
    `~ctapipe_sst1m.reco.metadata.model_metadata` dictionary (``meta["modes"]`` is filled here).
    """
    output_dir = Path(output_dir)
    meta.setdefault("modes", {})
    for mode, (recos, cfg_path, _) in trained.items():
        mode_cfg = read_config_file(cfg_path)
        meta["config"][mode] = {"file": str(cfg_path), "content": json.loads(json.dumps(mode_cfg))}
        entries = {}
        for kind, reco in zip(("energy", "disp", "classifier"), recos, strict=False):
            path = output_dir / mode / MODEL_FILES[kind]
            path.parent.mkdir(parents=True, exist_ok=True)
            write_model(reco, path, {**meta, "mode": mode, "kind": kind}, overwrite, compress)
            entries[kind] = {
                "file": f"{mode}/{MODEL_FILES[kind]}",
                "sha256": file_sha256(path),
                "class": reco.__class__.__name__,
                "prefix": reco.prefix,
                "features": list(reco.features),
            }
        meta["modes"][mode] = entries
    write_models_json(output_dir, meta)
    with atomic_output(output_dir / "performance.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(performance, indent=2, default=str))
    Provenance().add_output_file(
        str(output_dir / "models.json"), role="model metadata", add_meta=False
    )
    Provenance().add_output_file(
        str(output_dir / "performance.json"), role="performance", add_meta=False
    )

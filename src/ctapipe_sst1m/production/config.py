"""The production configuration: what an MC production is made of, checked before anything runs.

A production file is an ordinary ctapipe configuration (YAML or JSON, read with
``sst1m-mc-production -c PRODUCTION.yaml``) with four sections, one per component below:

``ProductionDefinition``
    name, seed, where the MC comes from (``toy`` or ``simtel``), the nodes (zenith, azimuth,
    NSB level; for ``simtel`` the files of each role), the DL1 processing configuration (the
    output of ``sst1m-dump-config --mc``, possibly tuned by ``sst1m-tune-nsb``) and the
    telescope setups of the IRFs;
``ToyMCSamples``
    toy MC made on the fly by ``sst1m-simulate``: showers per role and split, files per sample
    and extra ``sst1m-simulate`` configuration per role;
``SimTelSamples``
    sim_telarray files (read by ctapipe's ``SimTelEventSource`` in ``sst1m-r0-dl1``): the
    fraction of the diffuse files used for training;
``ProductionStages``
    the configuration given to each later stage (forests and ``TrainingSample`` for
    ``sst1m-train-models``, ``SST1MCutOptimizer`` for ``sst1m-optimize-cuts``, IRF makers for
    ``sst1m-make-irfs``, ``SST1MPerformance`` for ``sst1m-performance``) and the IRF types.

`production_from_config` turns such a configuration into a frozen `Production` (plain values,
paths resolved, seeds fixed), or raises `ProductionConfigError` with one line naming the file,
the key and the fix.
"""

import difflib
import glob
import math
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import Dict, Float, Int, List, Unicode
from traitlets import TraitError
from traitlets.config import Config

from ..core.config import check_config, read_config_file
from ..core.errors import SST1MInputError

__all__ = [
    "IRF_TYPES",
    "MC_SOURCES",
    "PARTICLES",
    "ROLES",
    "TEL_SETUPS",
    "Node",
    "Production",
    "ProductionConfigError",
    "ProductionDefinition",
    "ProductionStages",
    "Sample",
    "SimTelSamples",
    "ToyMCSamples",
    "load_production",
    "production_from_config",
]

#: MC roles: diffuse gammas and protons are split into training and test parts; point-like
#: gammas are test only (performance, sensitivity).
ROLES = ("gamma_diffuse", "proton", "gamma_point")
#: particle name of ``sst1m-simulate --particle`` per role
PARTICLES = {"gamma_diffuse": "gamma-diffuse", "proton": "proton", "gamma_point": "gamma"}
TRAIN_ROLES = ("gamma_diffuse", "proton")
MC_SOURCES = ("toy", "simtel")
TEL_SETUPS = ("stereo", "tel_021", "tel_022")
IRF_TYPES = ("full-enclosure", "point-like")
NODE_KEYS = ("zenith", "azimuth", "nsb", "files")
SAMPLE_KEYS = ("train_showers", "test_showers", "files", "config")
STAGE_CONFIGS = ("training", "cuts", "irf", "performance")


class ProductionConfigError(SST1MInputError):
    """The production configuration cannot be used (one line: file, key, fix)."""


class ProductionDefinition(Component):
    """What the production is: its MC nodes, inputs, DL1 processing and telescope setups."""

    name = Unicode("", help="Name of the production (recorded in production.yaml).").tag(
        config=True
    )
    seed = Int(
        1,
        min=0,
        help=(
            "Base seed of the production: every toy MC run, train/test split and forest seed"
            " is derived from it and the node, so one seed gives identical models."
        ),
    ).tag(config=True)
    mc_source = Unicode(
        "toy",
        help="Where the MC comes from: 'toy' (sst1m-simulate) or 'simtel' (sim_telarray files).",
    ).tag(config=True)
    processing_config = Unicode(
        None,
        allow_none=True,
        help=(
            "ctapipe configuration of the R1/DL1 processing (the output of sst1m-dump-config"
            " --mc, possibly tuned by sst1m-tune-nsb); a path relative to the production file."
            " None: the packaged defaults of sst1m-simulate / sst1m-r0-dl1."
        ),
    ).tag(config=True)
    nodes = List(
        Dict(),
        default_value=[],
        help=(
            "MC nodes, each a mapping with 'zenith' (e.g. '20 deg'), 'azimuth' (default"
            " '0 deg'), 'nsb' (NSB level of the node, optional; for the toy MC the NSB rate per"
            " pixel in GHz) and, for sim_telarray inputs, 'files': role -> list of paths or"
            " glob patterns (roles gamma_diffuse, proton, gamma_point)."
        ),
    ).tag(config=True)
    tel_setups = List(
        Unicode(),
        default_value=list(TEL_SETUPS),
        help="Telescope setups of the cuts, IRFs and performance: stereo, tel_021, tel_022.",
    ).tag(config=True)


class ToyMCSamples(Component):
    """Toy MC samples generated on the fly by ``sst1m-simulate`` for every node."""

    telescopes = List(
        Int(),
        default_value=[21, 22],
        help="Telescope ids simulated (data ids 21, 22 or MC ids 1, 2).",
    ).tag(config=True)
    samples = Dict(
        default_value={
            "gamma_diffuse": {"train_showers": 200_000, "test_showers": 200_000},
            "proton": {"train_showers": 2_000_000, "test_showers": 2_000_000},
            "gamma_point": {"test_showers": 100_000},
        },
        help=(
            "Per role (gamma_diffuse, proton, gamma_point): 'train_showers' and"
            " 'test_showers' thrown per node (gamma_point: test only), 'files' (runs each part"
            " is split into, default 1; several files are merged with ctapipe-merge) and"
            " 'config' (extra sst1m-simulate configuration, e.g. ShowerGenerator settings)."
        ),
    ).tag(config=True)


class SimTelSamples(Component):
    """sim_telarray inputs (the files are given per node in ``ProductionDefinition.nodes``)."""

    train_fraction = Float(
        0.5,
        help=(
            "Fraction of the diffuse gamma and proton files of each node used for training"
            " (chosen with the production seed); the rest are the test files of cuts and IRFs."
        ),
    ).tag(config=True)


class ProductionStages(Component):
    """Configuration of the stages after DL1 (each a mapping of ctapipe sections)."""

    training = Dict(
        help=(
            "Configuration of sst1m-train-models (EnergyRegressor, DispReconstructor,"
            " ParticleClassifier, TrainingSample sections, ...)."
        )
    ).tag(config=True)
    modes = List(
        Unicode(),
        default_value=[],
        help="Model sets to train (mono, stereo); empty: those the telescope setups need.",
    ).tag(config=True)
    cuts = Dict(help="Configuration of sst1m-optimize-cuts (SST1MCutOptimizer, ...).").tag(
        config=True
    )
    irf_types = List(
        Unicode(),
        default_value=list(IRF_TYPES),
        help="IRF types made per node and setup: full-enclosure, point-like.",
    ).tag(config=True)
    irf = Dict(help="Configuration of sst1m-make-irfs (IRF makers, SST1MDL2EventReader).").tag(
        config=True
    )
    performance = Dict(help="Configuration of sst1m-performance (SST1MPerformance, ...).").tag(
        config=True
    )


@dataclass(frozen=True)
class Node:
    """One MC node: pointing, NSB level and (sim_telarray) input files per role."""

    zenith_deg: float
    azimuth_deg: float
    nsb: float | None = None
    files: dict = field(default_factory=dict)  # role -> tuple of Path (simtel only)

    @property
    def name(self):
        """Model-bank directory name of the node, e.g. ``ze20_az0`` or ``ze20_az0_nsb0.1``."""
        base = f"ze{self.zenith_deg:g}_az{self.azimuth_deg:g}"
        return base if self.nsb is None else f"{base}_nsb{self.nsb:g}"


@dataclass(frozen=True)
class Sample:
    """Toy MC of one role: showers thrown per node for training and test, files per part."""

    role: str
    train_showers: int
    test_showers: int
    files: int = 1
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Production:
    """A checked production configuration (plain values; see `production_from_config`)."""

    source: str
    name: str
    seed: int
    mc_source: str
    processing_config: Path | None
    nodes: tuple
    tel_setups: tuple
    modes: tuple
    irf_types: tuple
    samples: dict = field(default_factory=dict)  # role -> Sample (toy only)
    telescopes: tuple = (21, 22)
    train_fraction: float = 0.5
    stage_configs: dict = field(default_factory=dict)  # training/cuts/irf/performance -> dict

    @property
    def roles(self):
        """Roles present in the production, in `ROLES` order."""
        if self.mc_source == "toy":
            return tuple(r for r in ROLES if r in self.samples)
        present = {role for node in self.nodes for role in node.files}
        return tuple(r for r in ROLES if r in present)

    def resolved(self):
        """The exact configuration as plain YAML-able values (for ``production.yaml``)."""
        nodes = []
        for node in self.nodes:
            entry = {"name": node.name, "zenith": f"{node.zenith_deg:g} deg"}
            entry["azimuth"] = f"{node.azimuth_deg:g} deg"
            entry["nsb"] = node.nsb
            if node.files:
                entry["files"] = {r: [str(p) for p in fs] for r, fs in node.files.items()}
            nodes.append(entry)
        result = {
            "name": self.name,
            "seed": self.seed,
            "mc_source": self.mc_source,
            "processing_config": (
                None if self.processing_config is None else str(self.processing_config)
            ),
            "nodes": nodes,
            "tel_setups": list(self.tel_setups),
            "modes": list(self.modes),
            "irf_types": list(self.irf_types),
            "stages": {k: _plain(v) for k, v in self.stage_configs.items()},
        }
        if self.mc_source == "toy":
            result["telescopes"] = list(self.telescopes)
            result["samples"] = {
                r: {
                    "train_showers": s.train_showers,
                    "test_showers": s.test_showers,
                    "files": s.files,
                    "config": _plain(s.config),
                }
                for r, s in self.samples.items()
            }
        else:
            result["train_fraction"] = self.train_fraction
        return result


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _fail(source, key, what, fix):
    raise ProductionConfigError(f"{source}: {key}: {what}; {fix}")


def _suggest(name, candidates):
    close = difflib.get_close_matches(str(name), candidates, n=1)
    return f"did you mean {close[0]}?" if close else f"known: {', '.join(candidates)}"


def _angle(source, key, value, default=None):
    if value is None:
        if default is None:
            _fail(source, key, "missing", "give the angle with its unit, e.g. '20 deg'")
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        _fail(source, key, f"bare number {value!r}", f"give the unit, e.g. '{value} deg'")
    try:
        angle = u.Quantity(value)
    except (TypeError, ValueError):
        _fail(source, key, f"{value!r} is not an angle", "write e.g. '20 deg'")
    if angle.unit.physical_type != "angle":
        _fail(source, key, f"{value!r} is not an angle", "write e.g. '20 deg'")
    return float(angle.to_value(u.deg))


def _choices(source, key, values, allowed):
    values = [str(v).lower() for v in values]
    for value in values:
        if value not in allowed:
            _fail(source, key, f"unknown value {value!r}", _suggest(value, allowed))
    if not values:
        _fail(source, key, "empty", f"give at least one of {', '.join(allowed)}")
    return tuple(dict.fromkeys(values))


def _import_stage_components():
    """Import the classes the stage configurations may name (the commands of every stage)."""
    import ctapipe.tools.merge  # noqa: F401
    import ctapipe.tools.process  # noqa: F401

    from ..tools import (  # noqa: F401
        dl1_dl2,
        make_irfs,
        optimize_cuts,
        performance,
        r0_dl1,
        simulate,
        train_models,
    )


def _stage_config(source, key, value):
    _import_stage_components()
    if not isinstance(value, dict):
        _fail(source, key, f"a {type(value).__name__}, not a mapping", "give ctapipe sections")
    try:
        check_config(Config(value), source=f"{source}: {key}")
    except SST1MInputError as err:
        raise ProductionConfigError(str(err)) from None
    return _plain(value)


def _resolve_files(source, key, patterns, base_dir):
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        _fail(source, key, "no files", "give a list of sim_telarray files or glob patterns")
    found = []
    for pattern in patterns:
        path = Path(str(pattern)).expanduser()
        path = path if path.is_absolute() else base_dir / path
        matches = sorted(Path(p) for p in glob.glob(str(path)))
        if not matches:
            _fail(source, key, f"{pattern} matches no file", "correct the path or the pattern")
        found.extend(m.absolute() for m in matches)
    return tuple(dict.fromkeys(found))


def _node(source, index, raw, mc_source, base_dir):
    where = f"ProductionDefinition.nodes[{index}]"
    if not isinstance(raw, dict):
        _fail(source, where, "not a mapping", "write {zenith: '20 deg', azimuth: '0 deg'}")
    for key in raw:
        if key not in NODE_KEYS:
            _fail(source, f"{where}.{key}", "unknown key", _suggest(key, NODE_KEYS))
    zenith = _angle(source, f"{where}.zenith", raw.get("zenith"))
    if not 0 <= zenith < 70:
        _fail(source, f"{where}.zenith", f"{zenith:g} deg out of range", "use 0 to 70 deg")
    azimuth = _angle(source, f"{where}.azimuth", raw.get("azimuth"), default=0.0) % 360
    nsb = raw.get("nsb")
    if nsb is not None:
        if isinstance(nsb, bool) or not isinstance(nsb, int | float) or nsb < 0:
            _fail(source, f"{where}.nsb", f"{nsb!r} is not a level >= 0", "give a number")
        nsb = float(nsb)
    files = {}
    if mc_source == "simtel":
        raw_files = raw.get("files")
        if not isinstance(raw_files, dict) or not raw_files:
            _fail(source, f"{where}.files", "missing", "give role -> sim_telarray files")
        for role, patterns in raw_files.items():
            if role not in ROLES:
                _fail(source, f"{where}.files.{role}", "unknown role", _suggest(role, ROLES))
            files[role] = _resolve_files(source, f"{where}.files.{role}", patterns, base_dir)
        for role in TRAIN_ROLES:
            if len(files.get(role, ())) < 2:
                _fail(
                    source,
                    f"{where}.files.{role}",
                    f"{len(files.get(role, ()))} file(s)",
                    "give at least two (one for training, one for the test part)",
                )
    elif "files" in raw:
        _fail(source, f"{where}.files", "files with mc_source toy", "remove it or use simtel")
    return Node(zenith, azimuth, nsb, files)


def _sample(source, role, raw):
    where = f"ToyMCSamples.samples.{role}"
    if role not in ROLES:
        _fail(source, where, "unknown role", _suggest(role, ROLES))
    if not isinstance(raw, dict):
        _fail(source, where, "not a mapping", "write {train_showers: N, test_showers: N}")
    for key in raw:
        if key not in SAMPLE_KEYS:
            _fail(source, f"{where}.{key}", "unknown key", _suggest(key, SAMPLE_KEYS))
    counts = {}
    for key, default in (("train_showers", 0), ("test_showers", 0), ("files", 1)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            _fail(source, f"{where}.{key}", f"{value!r} is not a count", "give an integer >= 0")
        counts[key] = value
    if counts["files"] < 1:
        _fail(source, f"{where}.files", "0 files", "give at least 1")
    if role in TRAIN_ROLES:
        for key in ("train_showers", "test_showers"):
            if counts[key] < counts["files"]:
                _fail(source, f"{where}.{key}", "too few showers", "give at least one per file")
    elif counts["train_showers"]:
        _fail(source, f"{where}.train_showers", "gamma_point is never trained on", "remove it")
    elif counts["test_showers"] < counts["files"]:
        _fail(source, f"{where}.test_showers", "too few showers", "give at least one per file")
    config = _stage_config(source, f"{where}.config", raw.get("config", {}))
    return Sample(role, counts["train_showers"], counts["test_showers"], counts["files"], config)


def _components(config):
    made = {}
    for cls in (ProductionDefinition, ToyMCSamples, SimTelSamples, ProductionStages):
        try:
            made[cls.__name__] = cls(config=config)
        except TraitError as err:
            message = " ".join(str(err).split())
            raise ProductionConfigError(f"{cls.__name__}: {message}") from None
    return made


def production_from_config(config, source="production configuration", base_dir=None):
    """Check a traitlets ``Config`` holding a production and return the `Production`.

    ``source`` names the file in messages; relative paths are resolved against ``base_dir``
    (default: the current directory).
    """
    base_dir = Path(base_dir or ".").absolute()
    try:
        c = _components(config)
    except ProductionConfigError as err:
        raise ProductionConfigError(f"{source}: {err}") from None
    definition, toy, simtel, stages = (
        c["ProductionDefinition"],
        c["ToyMCSamples"],
        c["SimTelSamples"],
        c["ProductionStages"],
    )
    mc_source = str(definition.mc_source).lower()
    if mc_source not in MC_SOURCES:
        _fail(
            source,
            "ProductionDefinition.mc_source",
            f"{mc_source!r}",
            _suggest(mc_source, MC_SOURCES),
        )
    if not definition.nodes:
        _fail(source, "ProductionDefinition.nodes", "no node", "give at least one {zenith: ...}")
    nodes = tuple(
        _node(source, i, raw, mc_source, base_dir) for i, raw in enumerate(definition.nodes)
    )
    names = [n.name for n in nodes]
    for name in names:
        if names.count(name) > 1:
            _fail(source, "ProductionDefinition.nodes", f"node {name} given twice", "remove one")
    processing = None
    if definition.processing_config:
        processing = Path(definition.processing_config).expanduser()
        processing = (processing if processing.is_absolute() else base_dir / processing).absolute()
        if not processing.is_file():
            _fail(
                source,
                "ProductionDefinition.processing_config",
                f"{processing} does not exist",
                "give the file written by sst1m-dump-config --mc",
            )
        try:
            _import_stage_components()
            check_config(read_config_file(processing), source=str(processing))
        except SST1MInputError as err:
            raise ProductionConfigError(str(err)) from None
    tel_setups = _choices(
        source, "ProductionDefinition.tel_setups", definition.tel_setups, TEL_SETUPS
    )
    needed = ["mono"] * any(s != "stereo" for s in tel_setups) + ["stereo"] * (
        "stereo" in tel_setups
    )
    modes = _choices(source, "ProductionStages.modes", stages.modes or needed, ("mono", "stereo"))
    missing = [m for m in needed if m not in modes]
    if missing:
        _fail(
            source,
            "ProductionStages.modes",
            f"the tel_setups need {', '.join(missing)} models",
            "add them or remove the setups",
        )
    irf_types = _choices(source, "ProductionStages.irf_types", stages.irf_types, IRF_TYPES)
    stage_configs = {
        key: _stage_config(source, f"ProductionStages.{key}", getattr(stages, key))
        for key in STAGE_CONFIGS
    }
    samples = {}
    if mc_source == "toy":
        samples = {role: _sample(source, role, raw) for role, raw in toy.samples.items()}
        for role in TRAIN_ROLES:
            if role not in samples:
                _fail(source, f"ToyMCSamples.samples.{role}", "missing", "give the sample")
        for tel_id in toy.telescopes:
            if tel_id not in (1, 2, 21, 22):
                _fail(source, "ToyMCSamples.telescopes", f"{tel_id}", "use 21, 22 (or 1, 2)")
    if not 0 < simtel.train_fraction < 1:
        _fail(
            source,
            "SimTelSamples.train_fraction",
            f"{simtel.train_fraction:g}",
            "give a fraction between 0 and 1",
        )
    return Production(
        source=str(source),
        name=definition.name,
        seed=definition.seed,
        mc_source=mc_source,
        processing_config=processing,
        nodes=nodes,
        tel_setups=tel_setups,
        modes=modes,
        irf_types=irf_types,
        samples=samples,
        telescopes=tuple(toy.telescopes),
        train_fraction=simtel.train_fraction,
        stage_configs=stage_configs,
    )


def load_production(path):
    """Read and check a production file (YAML or JSON); `ProductionConfigError` if unusable."""
    path = Path(path)
    try:
        config = read_config_file(path)
    except SST1MInputError as err:
        raise ProductionConfigError(str(err)) from None
    return production_from_config(config, source=str(path), base_dir=path.parent)


def split_files(files, train_fraction, seed):
    """(train, test) parts of sim_telarray files: a seeded choice, the same for one seed."""
    files = sorted(files)
    order = np.random.default_rng(seed).permutation(len(files))
    n_train = min(max(1, math.floor(train_fraction * len(files) + 0.5)), len(files) - 1)
    train = tuple(sorted(files[i] for i in order[:n_train]))
    test = tuple(sorted(files[i] for i in order[n_train:]))
    return train, test

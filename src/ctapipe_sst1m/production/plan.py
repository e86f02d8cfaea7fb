"""The task graph of a production: dl1 → merge → train → dl2 → cuts → irf → performance per node.

`plan_production` turns a checked `~ctapipe_sst1m.production.config.Production` into
`~ctapipe_sst1m.orchestration.Task` objects (the argv of the stock and package commands, their
inputs, outputs, log and configuration) plus the stage configuration files to write. The
tasks of one node depend only on tasks of the same node, so training and IRFs of different
nodes run in parallel; the only cross-node task is the listing of the IRF bank.

Every random choice is seeded from the production seed and the *node name* (not its position
in the list), so a node gives the same runs, split and forests in any production holding it.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np
from traitlets.config import Config

from ..core.config import read_config_file
from ..irf.bank import cut_tag
from .config import PARTICLES, TRAIN_ROLES, split_files
from .layout import ProductionLayout

__all__ = ["STAGES", "Plan", "derived_seed", "plan_production", "select_stages"]

STAGES = ("dl1", "merge", "train", "dl2", "cuts", "irf", "performance")
#: forest sections and their scikit-learn argument dictionaries
FOREST_ARGS = {
    "EnergyRegressor": ("model_config",),
    "ParticleClassifier": ("model_config",),
    "DispReconstructor": ("norm_config", "sign_config"),
}
_PARTS = ("train", "test")


def derived_seed(seed, *parts):
    """A 31-bit seed from the production seed and names (stable across Python runs)."""
    text = "/".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") % (2**31)


@dataclass
class Plan:
    """Tasks in dependency order, and the configuration files they read (path -> mapping)."""

    tasks: list
    configs: dict = field(default_factory=dict)

    def keys(self, stage=None):
        return [t.key for t in self.tasks if stage is None or t.stage == stage]


def _task(**kwargs):
    from ..orchestration import Task

    return Task(**kwargs)


def _config_dict(config):
    """A traitlets Config as nested plain dicts."""
    return {
        k: _config_dict(v) if isinstance(v, Config | dict) else v for k, v in dict(config).items()
    }


def _merged(*configs):
    result = Config()
    for config in configs:
        result.merge(Config(config))
    return _config_dict(result)


def training_config(production, node):
    """Configuration of sst1m-train-models: the stage's, with every seed fixed.

    A forest argument dictionary given without ``random_state`` gets one derived from the
    production seed (scikit-learn would otherwise draw a new forest each run), and so does
    ``TrainingSample.random_seed`` (train/test split and sampling).
    """
    config = _merged(production.stage_configs.get("training", {}))
    for section, keys in FOREST_ARGS.items():
        for key in keys:
            args = config.get(section, {}).get(key)
            if isinstance(args, dict) and "random_state" not in args:
                args["random_state"] = derived_seed(production.seed, node, section, key)
    sample = config.setdefault("TrainingSample", {})
    sample.setdefault("random_seed", derived_seed(production.seed, node, "TrainingSample"))
    tool = config.setdefault("TrainModelsTool", {})
    tool["modes"] = list(production.modes)
    return config


def _irf_tag(production):
    """Cut tag of the IRF file names (``eff0.70``, ``gc0.75``, ``edep``)."""
    from ..irf.optimize import SST1MCutOptimizer

    irf_cfg = production.stage_configs.get("irf", {}).get("MakeIrfsTool", {})
    if irf_cfg.get("global_gammaness") is not None:
        return cut_tag(global_gammaness=float(irf_cfg["global_gammaness"]))
    optimizer = SST1MCutOptimizer(config=Config(production.stage_configs.get("cuts", {})))
    if optimizer.method == "global":
        return cut_tag(global_gammaness=float(np.nextafter(optimizer.global_gammaness, 1)))
    if optimizer.method == "efficiency":
        return cut_tag(gamma_efficiency=optimizer.gamma_efficiency)
    return cut_tag()


def _split_showers(total, files):
    base, extra = divmod(total, files)
    return [base + (i < extra) for i in range(files)]


class _Planner:
    def __init__(self, production, layout):
        self.p = production
        self.layout = layout
        self.tasks = []
        self.configs = {}

    def add(self, stage, name, command, inputs, outputs, config=None, depends_on=()):
        log = self.layout.log(stage, name.replace("/", "."))
        prov = self.layout.provenance_log(stage, name.replace("/", "."))
        argv = [*command, f"--provenance-log={prov}"]
        if config is not None:
            argv.append(f"--config={config}")
        key = f"{stage}/{name}"
        self.tasks.append(
            _task(
                key=key,
                stage=stage,
                command=tuple(str(a) for a in argv),
                inputs=tuple(inputs),
                outputs=tuple(outputs),
                log=log,
                config=config,
                depends_on=tuple(depends_on),
            )
        )
        return key

    def config_file(self, name, content):
        path = self.layout.stage_config(name)
        self.configs[path] = content
        return path

    # ------------------------------------------------------------------ DL1 and merge
    def dl1_toy(self, node):
        """``{(role, part): (merged DL1, task key)}`` of a node's toy MC."""
        out, processing = {}, {}
        if self.p.processing_config is not None:
            processing = _config_dict(read_config_file(self.p.processing_config))
        for r_index, (role, sample) in enumerate(self.p.samples.items()):
            config = self.config_file(f"dl1_{role}", _merged(processing, sample.config))
            for p_index, part in enumerate(_PARTS):
                total = sample.train_showers if part == "train" else sample.test_showers
                if total == 0:
                    continue
                runs = []
                for i, n in enumerate(_split_showers(total, sample.files)):
                    single = sample.files == 1
                    dl1 = (
                        self.layout.dl1(node.name, role, part)
                        if single
                        else self.layout.dl1_run(node.name, role, part, i)
                    )
                    argv = [
                        "sst1m-simulate",
                        f"--particle={PARTICLES[role]}",
                        f"--n-showers={n}",
                        f"--seed={derived_seed(self.p.seed, node.name, role, part, i)}",
                        f"--obs-id={100 * (r_index + 1) + 50 * p_index + i + 1}",
                        f"--zenith={node.zenith_deg:g} deg",
                        f"--azimuth={node.azimuth_deg:g} deg",
                        *[f"--telescopes={t}" for t in self.p.telescopes],
                        f"--output={dl1}",
                        "--quiet",
                    ]
                    if node.nsb is not None:
                        argv.append(f"--CameraNoiseModel.nsb_rate={node.nsb:g}")
                    name = f"{node.name}/{role}_{part}" + ("" if single else f"_{i:03d}")
                    runs.append((dl1, self.add("dl1", name, argv, (), (dl1,), config)))
                out[role, part] = self.merge(node, role, part, runs)
        return out

    def dl1_simtel(self, node):
        out, config = {}, None
        if self.p.processing_config is not None:
            config = self.config_file(
                "dl1_simtel", _config_dict(read_config_file(self.p.processing_config))
            )
        for role, files in node.files.items():
            if role in TRAIN_ROLES:
                seed = derived_seed(self.p.seed, node.name, role, "split")
                parts = dict(
                    zip(_PARTS, split_files(files, self.p.train_fraction, seed), strict=True)
                )
            else:
                parts = {"test": tuple(files)}
            for part, part_files in parts.items():
                runs = []
                single = len(part_files) == 1
                for i, simtel in enumerate(part_files):
                    dl1 = (
                        self.layout.dl1(node.name, role, part)
                        if single
                        else self.layout.dl1_run(node.name, role, part, i)
                    )
                    argv = ["sst1m-r0-dl1", f"--input={simtel}", f"--output={dl1}"]
                    name = f"{node.name}/{role}_{part}" + ("" if single else f"_{i:03d}")
                    runs.append((dl1, self.add("dl1", name, argv, (simtel,), (dl1,), config)))
                out[role, part] = self.merge(node, role, part, runs)
        return out

    def merge(self, node, role, part, runs):
        if len(runs) == 1:
            return runs[0]
        merged = self.layout.dl1(node.name, role, part)
        argv = ["ctapipe-merge", *[str(f) for f, _ in runs], f"--output={merged}"]
        key = self.add(
            "merge",
            f"{node.name}/{role}_{part}",
            argv,
            [f for f, _ in runs],
            (merged,),
            depends_on=[k for _, k in runs],
        )
        return merged, key

    # ------------------------------------------------------------------ after DL1
    def node_tasks(self, node, dl1, tag):
        n = node.name
        models = self.layout.model_dir(n)
        train_cfg = self.config_file(f"train_{n}", training_config(self.p, n))
        (g_train, g_key), (p_train, p_key) = dl1["gamma_diffuse", "train"], dl1["proton", "train"]
        argv = [
            "sst1m-train-models",
            f"--gamma={g_train}",
            f"--proton={p_train}",
            f"--output={models}",
            f"--TrainModelsTool.node_zenith={node.zenith_deg:g} deg",
            f"--TrainModelsTool.node_azimuth={node.azimuth_deg:g} deg",
        ]
        if node.nsb is not None:
            argv.append(f"--TrainModelsTool.node_nsb={node.nsb:g}")
        model_files = [models / "models.json"] + [
            models / mode / f"{kind}.pkl"
            for mode in self.p.modes
            for kind in ("energy", "disp", "classifier")
        ]
        train_key = self.add(
            "train", n, argv, (g_train, p_train), model_files, train_cfg, (g_key, p_key)
        )
        dl2 = {}
        for role in self.p.roles:
            test, test_key = dl1[role, "test"]
            for mode in self.p.modes:
                out = self.layout.dl2(n, role, mode)
                argv = [
                    "sst1m-dl1-dl2",
                    f"--input={test}",
                    f"--models={models}",
                    f"--output={out}",
                    f"--mode={mode}",
                    "--no-progress",
                ]
                key = self.add(
                    "dl2",
                    f"{n}/{role}.{mode}",
                    argv,
                    (test, models / "models.json"),
                    (out,),
                    depends_on=(test_key, train_key),
                )
                dl2[role, mode] = (out, key)
        cuts_cfg = self.config_file("cuts", self.p.stage_configs.get("cuts", {}))
        irf_cfg = self.config_file("irf", self.p.stage_configs.get("irf", {}))
        perf_cfg = self.config_file("performance", self.p.stage_configs.get("performance", {}))
        irf_keys = []
        for setup in self.p.tel_setups:
            mode = "stereo" if setup == "stereo" else "mono"
            (gamma, g_key), (proton, p_key) = dl2["gamma_diffuse", mode], dl2["proton", mode]
            cuts = self.layout.cuts(n, setup)
            argv = [
                "sst1m-optimize-cuts",
                f"--gamma={gamma}",
                f"--proton={proton}",
                f"--output={cuts}",
                f"--tel-setup={setup}",
            ]
            cuts_key = self.add(
                "cuts", f"{n}/{setup}", argv, (gamma, proton), (cuts,), cuts_cfg, (g_key, p_key)
            )
            for irf_type in self.p.irf_types:
                point_like = irf_type == "point-like"
                out = self.layout.irf_file(node, setup, tag, point_like)
                argv = [
                    "sst1m-make-irfs",
                    f"--gamma={gamma}",
                    f"--proton={proton}",
                    f"--cuts={cuts}",
                    f"--output-dir={self.layout.irf}",
                    f"--tel-setup={setup}",
                    "--point-like" if point_like else "--no-point-like",
                ]
                irf_keys.append(
                    self.add(
                        "irf",
                        f"{n}/{setup}/{irf_type}",
                        argv,
                        (gamma, proton, cuts),
                        (out,),
                        irf_cfg,
                        (g_key, p_key, cuts_key),
                    )
                )
            point_role = "gamma_point" if ("gamma_point", mode) in dl2 else "gamma_diffuse"
            point, pt_key = dl2[point_role, mode]
            argv = [
                "sst1m-performance",
                f"--gamma={point}",
                f"--proton={proton}",
                f"--cuts={cuts}",
                f"--output-dir={self.layout.performance_dir(n)}",
                f"--tel-setup={setup}",
            ]
            self.add(
                "performance",
                f"{n}/{setup}",
                argv,
                (point, proton, cuts),
                (self.layout.performance_file(n, setup),),
                perf_cfg,
                (pt_key, p_key, cuts_key),
            )
        return irf_keys


def plan_production(production, output_dir):
    """The `Plan` of ``production`` in ``output_dir`` (nothing is written)."""
    layout = ProductionLayout(output_dir)
    planner = _Planner(production, layout)
    tag = _irf_tag(production)
    irf_keys = []
    for node in production.nodes:
        if production.mc_source == "toy":
            dl1 = planner.dl1_toy(node)
        else:
            dl1 = planner.dl1_simtel(node)
        irf_keys += planner.node_tasks(node, dl1, tag)
    irf_files = [o for t in planner.tasks if t.key in set(irf_keys) for o in t.outputs]
    planner.add(
        "irf",
        "bank",
        ["sst1m-irf-bank", f"--bank={layout.irf}", f"--output={layout.bank_listing}"],
        irf_files,
        (layout.bank_listing,),
        depends_on=irf_keys,
    )
    return Plan(planner.tasks, planner.configs)


def select_stages(tasks, stages):
    """The tasks of ``stages`` only; dependencies on other stages are dropped (their products
    must then exist: the engine fails a task whose input is missing, naming it)."""
    from dataclasses import replace

    chosen = [t for t in tasks if t.stage in stages]
    keys = {t.key for t in chosen}
    return [replace(t, depends_on=tuple(d for d in t.depends_on if d in keys)) for t in chosen]

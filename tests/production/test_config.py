"""The production configuration: packaged files, one-line errors, seeds, plan shape (no run)."""

import shutil

import pytest
import yaml
from toy_production import production_yaml
from traitlets.config import Config

from ctapipe_sst1m.core import packaged_config_path
from ctapipe_sst1m.orchestration import check_graph
from ctapipe_sst1m.production import (
    ProductionConfigError,
    load_production,
    plan_production,
    production_from_config,
    select_stages,
)
from ctapipe_sst1m.production.layout import ProductionLayout, record_production
from ctapipe_sst1m.production.plan import derived_seed, training_config


def _toy(**changes):
    config = yaml.safe_load(packaged_config_path("production_toy.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        config.setdefault(section, {})[key] = value
    return Config(config)


def test_packaged_toy_production_plans_every_stage_per_node(tmp_path):
    production = load_production(packaged_config_path("production_toy.yaml"))
    assert [n.name for n in production.nodes] == ["ze20_az0", "ze40_az0"]
    assert production.telescopes == (21, 22)
    plan = plan_production(production, tmp_path / "PROD")
    ordered = check_graph(plan.tasks)
    assert len(ordered) == len(plan.tasks) == 57
    stages = [t.stage for t in plan.tasks]
    assert {s: stages.count(s) for s in set(stages)} == {
        "dl1": 14, "merge": 4, "train": 2, "dl2": 12, "cuts": 6, "irf": 13, "performance": 6,
    }  # fmt: skip
    train = {t.key: t for t in plan.tasks}["train/ze20_az0"]
    assert train.outputs[0] == tmp_path / "PROD" / "models" / "ze20_az0" / "models.json"
    # the tasks of a node depend only on tasks of the same node: nodes run in parallel
    by_key = {t.key: t for t in plan.tasks}
    for task in plan.tasks:
        if task.key == "irf/bank":
            continue
        node = task.key.split("/")[1]
        assert all(by_key[d].key.split("/")[1] == node for d in task.depends_on), task.key
    irf = [t for t in plan.tasks if t.stage == "irf" and t.key != "irf/bank"]
    assert irf[0].outputs[0].relative_to(tmp_path / "PROD").as_posix() == (
        "irf/stereo/zen20.0_az000.0_nsbnone/SST1M_stereo_zen20.0_az000.0_nsbnone_eff0.70.fits.gz"
    )


def test_node_seeds_do_not_depend_on_the_other_nodes(tmp_path):
    both = plan_production(production_from_config(_toy()), tmp_path)
    nodes = [{"zenith": "40 deg", "azimuth": "0 deg"}]
    alone = plan_production(
        production_from_config(_toy(**{"ProductionDefinition.nodes": nodes})), tmp_path
    )
    commands = {t.key: t.command for t in both.tasks}
    for task in alone.tasks:
        if task.key != "irf/bank":
            assert commands[task.key] == task.command
    assert (
        both.configs[tmp_path / "config" / "train_ze40_az0.yaml"]
        == alone.configs[tmp_path / "config" / "train_ze40_az0.yaml"]
    )


def test_forests_without_random_state_get_a_seeded_one_and_given_ones_are_kept():
    production = production_from_config(_toy())
    config = training_config(production, "ze20_az0")
    state = config["EnergyRegressor"]["model_config"]["random_state"]
    assert state == derived_seed(1, "ze20_az0", "EnergyRegressor", "model_config")
    assert config["DispReconstructor"]["sign_config"]["random_state"] != state
    assert config["TrainingSample"]["random_seed"] == derived_seed(1, "ze20_az0", "TrainingSample")
    other = training_config(
        production_from_config(_toy(**{"ProductionDefinition.seed": 2})), "ze20_az0"
    )
    assert other["EnergyRegressor"]["model_config"]["random_state"] != state
    stages = yaml.safe_load(packaged_config_path("production_toy.yaml").read_text())
    stages = stages["ProductionStages"]
    stages["training"]["EnergyRegressor"]["model_config"]["random_state"] = 5
    fixed = training_config(
        production_from_config(_toy(**{"ProductionStages.training": stages["training"]})), "n"
    )
    assert fixed["EnergyRegressor"]["model_config"]["random_state"] == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"ProductionDefinition.nodes": [{"zenith": 20}]},
            "nodes[0].zenith: bare number 20; give the unit",
        ),
        (
            {"ProductionDefinition.nodes": [{"zenit": "20 deg"}]},
            "nodes[0].zenit: unknown key; did you mean zenith?",
        ),
        (
            {"ProductionDefinition.nodes": [{"zenith": "20 m"}]},
            "nodes[0].zenith: '20 m' is not an angle",
        ),
        (
            {"ProductionDefinition.nodes": [{"zenith": "20 deg"}, {"zenith": "20 deg"}]},
            "node ze20_az0 given twice",
        ),
        (
            {"ProductionDefinition.mc_source": "simtell"},
            "mc_source: 'simtell'; did you mean simtel?",
        ),
        (
            {"ProductionDefinition.tel_setups": ["tel_21"]},
            "tel_setups: unknown value 'tel_21'; did you mean tel_021?",
        ),
        (
            {"ProductionDefinition.processing_config": "missing.yaml"},
            "does not exist; give the file written by sst1m-dump-config --mc",
        ),
        (
            {"ToyMCSamples.samples": {"gamma_difuse": {}}},
            "samples.gamma_difuse: unknown role; did you mean gamma_diffuse?",
        ),
        (
            {"ToyMCSamples.samples": {"gamma_diffuse": {"train_showers": 10, "test_showers": 10}}},
            "samples.proton: missing",
        ),
        (
            {"ProductionStages.training": {"EnergyRegresor": {}}},
            "unknown section EnergyRegresor (did you mean EnergyRegressor?)",
        ),
        (
            {"ProductionStages.cuts": {"SST1MCutOptimizer": {"gamma_eff": 0.7}}},
            "SST1MCutOptimizer has no option gamma_eff",
        ),
        ({"ProductionStages.modes": ["mono"]}, "modes: the tel_setups need stereo models"),
        (
            {"SimTelSamples.train_fraction": 1.5},
            "train_fraction: 1.5; give a fraction between 0 and 1",
        ),
    ],
)
def test_unusable_configuration_is_refused_in_one_line(change, message):
    with pytest.raises(ProductionConfigError) as err:
        production_from_config(_toy(**change), source="prod.yaml")
    text = str(err.value)
    assert text.startswith("prod.yaml: ") and "\n" not in text
    assert message in text


def test_simtel_template_needs_its_files_and_plans_r0_dl1_and_merge(tmp_path):
    template = tmp_path / "production_simtel.yaml"
    shutil.copy(packaged_config_path("production_simtel.yaml"), template)
    with pytest.raises(
        ProductionConfigError, match=r"nodes\[0\].files.gamma_diffuse: .* matches no file"
    ):
        load_production(template)
    (tmp_path / "sst1m_mc_config.yaml").write_text(
        "ImageProcessor: {image_cleaner_type: ImageCleanerSST}\n"
    )
    for zenith in (20, 40):
        for role, n in (("gamma_diffuse", 4), ("proton", 5), ("gamma_point", 2)):
            directory = tmp_path / "simtel" / f"ze{zenith}_az180" / role
            directory.mkdir(parents=True)
            for i in range(n):
                (directory / f"run{i}.simtel.gz").write_bytes(b"")
    production = load_production(template)
    plan = plan_production(production, tmp_path / "PROD")
    r0 = [t for t in plan.tasks if t.stage == "dl1"]
    assert len(r0) == 2 * (4 + 5 + 2) and all(t.command[0] == "sst1m-r0-dl1" for t in r0)
    assert all(t.config == tmp_path / "PROD" / "config" / "dl1_simtel.yaml" for t in r0)
    merges = {t.key: t for t in plan.tasks if t.stage == "merge"}
    assert merges["merge/ze20_az180_nsb0.1/proton_train"].command[0] == "ctapipe-merge"
    train = len(merges["merge/ze20_az180_nsb0.1/proton_train"].inputs)
    test = len(merges["merge/ze20_az180_nsb0.1/proton_test"].inputs)
    assert (train, test) == (3, 2)  # 0.5 * 5 rounded half up: 3 training files
    train_task = {t.key: t for t in plan.tasks}["train/ze20_az180_nsb0.1"]
    assert "--TrainModelsTool.node_nsb=0.1" in train_task.command


def test_select_stages_keeps_only_dependencies_inside_the_selection(tmp_path):
    plan = plan_production(production_from_config(_toy()), tmp_path)
    chosen = select_stages(plan.tasks, ("irf", "performance"))
    assert {t.stage for t in chosen} == {"irf", "performance"}
    keys = {t.key for t in chosen}
    assert all(d in keys for t in chosen for d in t.depends_on)
    check_graph(chosen)


def test_a_changed_configuration_is_refused_in_an_existing_production(tmp_path):
    layout = ProductionLayout(tmp_path / "PROD")
    config = production_yaml(tmp_path / "p.yaml", nodes=(20,))
    record = record_production(layout, load_production(config))
    assert record["configuration"]["seed"] == 7 and record["package_version"]
    record_production(layout, load_production(config))  # same configuration: fine
    config.write_text(config.read_text().replace("seed: 7", "seed: 8"))
    with pytest.raises(
        ProductionConfigError, match=r"production.yaml: .*\(seed differ\); use a new"
    ):
        record_production(layout, load_production(config))
    assert (
        record_production(layout, load_production(config), overwrite=True)["configuration"]["seed"]
        == 8
    )

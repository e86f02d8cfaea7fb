"""The packaged default configurations and their copies in config_examples/.

``src/ctapipe_sst1m/resources/config/*.yaml`` is the single source (what the tools load);
``config_examples/`` holds exact copies for users to start from, so they cannot drift.
"""

from pathlib import Path

import ctapipe.tools.compute_irf  # noqa: F401  (IrfTool, a section of irf_stock.yaml)
import ctapipe.tools.optimize_event_selection  # noqa: F401  (EventSelectionOptimizer)
import ctapipe.tools.process  # noqa: F401  (ProcessorTool, the section of the DL1 configs)
import pytest

import ctapipe_sst1m.tools.dl1_stereo  # noqa: F401
import ctapipe_sst1m.tools.make_irfs  # noqa: F401
import ctapipe_sst1m.tools.mc_production  # noqa: F401  (the production sections)
import ctapipe_sst1m.tools.nightly  # noqa: F401  (NightlyTool, NightPlanner, ClusterFactory)
import ctapipe_sst1m.tools.optimize_cuts  # noqa: F401
import ctapipe_sst1m.tools.performance  # noqa: F401
import ctapipe_sst1m.tools.r0_dl1  # noqa: F401
import ctapipe_sst1m.tools.train_models  # noqa: F401
from ctapipe_sst1m.core import check_config, packaged_config_path, read_config_file

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "config_examples"
PACKAGED = sorted(packaged_config_path("").glob("*.yaml"))


def test_examples_are_exact_copies_of_the_packaged_configs():
    assert {p.name for p in PACKAGED} >= {"r0_dl1_data.yaml", "r0_dl1_mc.yaml"}
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == [p.name for p in PACKAGED]
    for packaged in PACKAGED:
        copy = EXAMPLES / packaged.name
        assert copy.read_bytes() == packaged.read_bytes(), (
            f"{copy} differs from {packaged}: edit the packaged file and copy it"
        )


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_packaged_configs_have_no_unknown_sections_or_keys(path):
    config = read_config_file(path)
    assert len(config) >= 3
    check_config(config, source=str(path))

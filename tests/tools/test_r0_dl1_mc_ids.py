"""Toy MC simulated with the data telescope ids (21/22) goes through sst1m-r0-dl1's MC defaults."""

import numpy as np
from ctapipe.core import run_tool
from ctapipe.io import read_table

from ctapipe_sst1m.io import datamodel as dm
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool
from ctapipe_sst1m.tools.simulate import SimulateTool


def test_toy_r1_with_data_ids_gets_the_cleaning_sets_of_its_telescope(tmp_path):
    r1, dl1, prov = tmp_path / "r1.h5", tmp_path / "dl1.h5", f"--provenance-log={tmp_path / 'p'}"
    argv = ["--particle=gamma", "--n-showers=400", "--seed=3", "--telescopes=21"]
    argv += ["--telescopes=22", "--r1", f"--output={r1}", prov]
    assert run_tool(SimulateTool(), argv, cwd=tmp_path, raises=True) == 0
    assert run_tool(SST1MR0DL1Tool(), [f"-i={r1}", f"-o={dl1}", prov], cwd=tmp_path) == 0
    for tel_id in (21, 22):
        params = read_table(dl1, dm.tel_path(dm.DL1_TEL_PARAMETERS_GROUP, tel_id))
        assert len(params) > 0 and np.nanmax(params["hillas_intensity"]) > 50

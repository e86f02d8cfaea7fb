"""Session fixture of the IRF tests: the shared chain's 20° node plus point-like gammas.

The diffuse gammas and protons, their mono and stereo DL2 and the models are those of the
shared end-to-end products (fixture ``chain``, tests/helpers/chain.py: ``sst1m-simulate`` with
telescope ids 21/22, ``sst1m-train-models``, ``sst1m-dl1-dl2``), so that they are simulated,
trained and reconstructed once per test run for every suite. This fixture adds what only the
IRF tests need, through the real commands: point-like gammas at 0.4° (``sst1m-simulate``,
20° zenith like the node) through ``sst1m-dl1-dl2`` in mono and stereo mode, and stock
``ctapipe-apply-models`` (stereo models) on the node's diffuse gammas.
"""

from pathlib import Path

import pytest
from ctapipe.core import run_tool

#: the chain's IRF node used here (its zenith and azimuth name the bank nodes in the tests)
ZENITH = 20.0
#: point-like gammas: thrown showers, seed, ShowerGenerator settings (as the chain's gammas)
POINT = (12_000, 13, {"max_scatter_range": 350.0})


class Toy:
    """Paths of the toy production."""

    def __init__(self, root, chain):
        self.root = root
        self.models = chain.models
        node = chain.mc_dl2(ZENITH, "gamma-diffuse", "mono").parent
        self.dl1 = {"gamma_diffuse": node / "gamma-diffuse.dl1.h5"}
        # (sample, mode) -> DL2 file; mode in mono, stereo, stock
        self.dl2 = {
            (name, mode): chain.mc_dl2(ZENITH, particle, mode)
            for name, particle in (("gamma_diffuse", "gamma-diffuse"), ("proton", "proton"))
            for mode in ("mono", "stereo")
        }


def _run(tool, argv, cwd):
    argv = [str(a) for a in argv] + [f"--provenance-log={Path(cwd) / 'prov.log'}"]
    assert run_tool(tool, argv=argv, cwd=cwd, raises=True) == 0, argv


@pytest.fixture(scope="session")
def toy(tmp_path_factory, chain):
    """The toy production (see module docstring)."""
    from ctapipe.tools.apply_models import ApplyModels

    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
    from ctapipe_sst1m.tools.simulate import SimulateTool

    root = tmp_path_factory.mktemp("irf_toy")
    toy = Toy(root, chain)
    n, seed, generator = POINT
    point = root / "gamma_point.dl1.h5"
    argv = [
        "--particle=gamma",
        f"--n-showers={n}",
        f"--seed={seed}",
        f"--zenith={ZENITH} deg",
        "--telescopes=21",
        "--telescopes=22",
        f"--output={point}",
        "--SST1MToyEventSource.true_images=False",
        *(f"--ShowerGenerator.{k}={v}" for k, v in generator.items()),
    ]
    _run(SimulateTool(), argv, root)
    toy.dl1["gamma_point"] = point
    for mode in ("mono", "stereo"):
        out = root / f"gamma_point.{mode}.dl2.h5"
        argv = ["-i", point, "-m", chain.models, "-o", out, f"--mode={mode}", "-c", chain.config]
        _run(DL1ToDL2Tool(), [*argv, "--no-progress"], root)
        toy.dl2["gamma_point", mode] = out
    stock = root / "gamma_diffuse.stock.dl2.h5"
    models = [
        f"--reconstructor={chain.models / 'stereo' / f}"
        for f in ("energy.pkl", "disp.pkl", "classifier.pkl")
    ]
    _run(ApplyModels(), [f"--input={toy.dl1['gamma_diffuse']}", f"--output={stock}", *models], root)
    toy.dl2["gamma_diffuse", "stock"] = stock
    return toy

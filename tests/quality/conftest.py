"""Session fixture of the data-quality tests: a toy night with a cloud and a moonlit run, and
the toy proton MC it is compared with, both made by the real commands.

The night (``sst1m-simulate-night``, White-Rabbit era, 5 runs of 30 s alternating two
wobbles): run 2 under a cloud (transmission `CLOUD_T`), run 4 with 3× the NSB. Its protons
are thrown at ``background_reduction`` `REDUCTION` of the physical rate, from `E_MIN` on a
600 m disk within 7°; the MC (``sst1m-simulate --particle proton --telescopes 21 22``) uses
the same energy range and geometry, so the comparison is exact by construction while no
CPU goes into protons that never make an image above the fit threshold (images above 200 p.e.
come from protons above ~6 TeV within 500 m and 6° in the toy). The MC-expectation side
gets the reduction through ``CosmicRayRate.rate_scale`` — never from the truth file.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest
from ctapipe.core import run_tool

from ctapipe_sst1m.simulation.night import run_night

CLOUD_RUN, MOON_RUN = 2, 4
CLOUD_T = 0.5
REDUCTION = 0.8
E_MIN_TEV = 6.0
GEOMETRY = {"max_scatter_range": 600.0, "viewcone": 7.0}
#: the fit threshold of these tests (the reference default, 400 p.e., leaves ~30 events per
#: toy run; the toy night images scale with the transmission above ~200 p.e.)
INTENSITY_MIN = 200.0
MC_ZENITH = "28 deg"


@dataclass
class DQNight:
    """Paths of the data-quality night and its MC reference."""

    night: Path
    mc: Path

    @property
    def dl1(self):
        """The night's DL1 files (both telescopes)."""
        return sorted(self.night.glob("SST1M*.dl1.h5"))


@pytest.fixture(scope="session")
def dq_night(tmp_path_factory):
    """The cloud + moon toy night and its proton MC (see the module docstring)."""
    from ctapipe_sst1m.tools.simulate import SimulateTool

    root = tmp_path_factory.mktemp("dq")
    night = run_night(
        root / "night",
        date="2023-11-10",
        target="Crab",
        seed=3,
        n_runs=5,
        run_duration=30.0,
        config={
            "NightSimulator": {
                "background_reduction": REDUCTION,
                "proton_energy_min": f"{E_MIN_TEV} TeV",
            },
            "ShowerGenerator": GEOMETRY,
            # back-to-back runs (the default spreads them until 45° zenith): the MC reference
            # is at one zenith and the Moon stays below the horizon
            "NightSchedule": {"spread_runs": False},
            "ObservingConditions": {
                "cloud_runs": [CLOUD_RUN],
                "cloud_transmission": CLOUD_T,
                "moon_runs": [MOON_RUN],
                "moon_nsb_factor": 3.0,
            },
        },
        extra_args=("--runs-per-wobble=1",),
    )
    mc = root / "proton.dl1.h5"
    argv = [
        "--particle=proton",
        "--n-showers=12000",
        "--seed=5",
        f"--zenith={MC_ZENITH}",
        "--azimuth=180 deg",
        "--telescopes=21",
        "--telescopes=22",
        "--image-cleaner-type=ImageCleanerSST",
        f"--ShowerGenerator.energy_min={E_MIN_TEV}",
        "--ShowerGenerator.energy_max=200",
        *(f"--ShowerGenerator.{k}={v}" for k, v in GEOMETRY.items()),
        "--SST1MToyEventSource.true_images=False",
        f"--output={mc}",
        f"--provenance-log={root / 'prov.log'}",
    ]
    assert run_tool(SimulateTool(), argv, cwd=root, raises=True) == 0
    return DQNight(night, mc)

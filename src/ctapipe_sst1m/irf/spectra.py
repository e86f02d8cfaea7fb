"""Spectra and simulated-event bookkeeping of SST-1M productions (pyirf objects, units kept).

* `TARGET_SPECTRA`: the target spectra by name, including pyirf's DAMPE p+He proton spectrum,
  which ctapipe's closed ``Spectra`` enum does not offer;
* `simulation_info`: pyirf's `~pyirf.simulations.SimulatedEventsInfo` from the
  ``/configuration/simulation/run`` and ``/simulation/service/shower_distribution`` tables,
  with the two SST-1M fixes ctapipe refuses (it asserts equality and raises): runs whose
  CORSIKA ``shower_reuse`` disagrees with the thrown-shower histogram (CSCAT > 20 stores 20)
  are counted from the histogram, and runs with a lower ``energy_range_min`` than the
  production's common floor are renormalised to it (a power law integrated from the floor).
"""

import astropy.units as u
import numpy as np
from pyirf.simulations import SimulatedEventsInfo
from pyirf.spectral import (
    CRAB_HEGRA,
    CRAB_MAGIC_JHEAP2015,
    IRFDOC_ELECTRON_SPECTRUM,
    IRFDOC_PROTON_SPECTRUM,
    DAMPE_P_He_SPECTRUM,
)

from ..core.errors import SST1MInputError

__all__ = ["TARGET_SPECTRA", "n_thrown_per_run", "simulation_info", "power_law_fraction"]

#: Target spectra selectable by name (``gamma_spectrum``/``proton_spectrum`` traits).
TARGET_SPECTRA = {
    "CRAB_HEGRA": CRAB_HEGRA,
    "CRAB_MAGIC_JHEAP2015": CRAB_MAGIC_JHEAP2015,
    "DAMPE_P_He_SPECTRUM": DAMPE_P_He_SPECTRUM,
    "IRFDOC_PROTON_SPECTRUM": IRFDOC_PROTON_SPECTRUM,
    "IRFDOC_ELECTRON_SPECTRUM": IRFDOC_ELECTRON_SPECTRUM,
}

_SAME = ("spectral_index", "energy_range_max", "max_scatter_range", "max_viewcone_radius")


def power_law_fraction(index, e_min, e_max, e_low):
    """Fraction of a power law dN/dE ∝ E^index thrown in [e_min, e_max] that lies above e_low."""
    g = index + 1.0
    e_min, e_max, e_low = (u.Quantity(e, u.TeV).value for e in (e_min, e_max, e_low))
    if abs(g) < 1e-12:
        return np.log(e_max / e_low) / np.log(e_max / e_min)
    return (e_max**g - e_low**g) / (e_max**g - e_min**g)


def n_thrown_per_run(runs, distribution=None):
    """Thrown showers per run: ``n_showers × shower_reuse``, or the histogram if they differ.

    The histogram of all thrown showers (``n_entries`` per ``obs_id``) is the truth when
    present; runs are matched by ``obs_id`` (not by row order).
    """
    n = np.asarray(runs["n_showers"], dtype=np.int64) * np.asarray(runs["shower_reuse"])
    if distribution is None or len(distribution) == 0:
        return n
    counted = {}
    for obs_id, entries in zip(distribution["obs_id"], distribution["n_entries"], strict=True):
        counted[int(obs_id)] = counted.get(int(obs_id), 0) + int(entries)
    return np.array(
        [counted.get(int(o), int(k)) for o, k in zip(runs["obs_id"], n, strict=True)],
        dtype=np.int64,
    )


def simulation_info(runs, distribution=None, energy_floor=None, source="input"):
    """`SimulatedEventsInfo` of a production (one or more runs).

    Parameters
    ----------
    runs : astropy.table.Table
        ``/configuration/simulation/run`` (one row per run).
    distribution : astropy.table.Table or None
        ``/simulation/service/shower_distribution``.
    energy_floor : Quantity or None
        Lowest true energy kept (the ``min_true_energy_cut`` of the production); runs thrown
        from lower energies are renormalised to it. None: the highest ``energy_range_min``.
    source : str
        File name for error messages.
    """
    for name in _SAME:
        if len(np.unique(np.asarray(runs[name]))) > 1:
            raise SST1MInputError(
                f"{source}: runs differ in {name}; make IRFs from runs of one configuration"
            )
    n_thrown = n_thrown_per_run(runs, distribution)
    e_min = u.Quantity(runs["energy_range_min"], u.TeV)
    e_max = u.Quantity(runs["energy_range_max"], u.TeV)[0]
    floor = e_min.max() if energy_floor is None else u.Quantity(energy_floor, u.TeV)
    if floor < e_min.max():
        raise SST1MInputError(
            f"{source}: energy floor {floor} is below a run's lower energy {e_min.max()};"
            " choose a floor at least that high"
        )
    index = float(runs["spectral_index"][0])
    n = sum(
        k * power_law_fraction(index, lo, e_max, floor) if lo < floor else k
        for k, lo in zip(n_thrown, e_min, strict=True)
    )
    return SimulatedEventsInfo(
        n_showers=int(round(float(n))),
        energy_min=floor,
        energy_max=e_max,
        max_impact=u.Quantity(runs["max_scatter_range"][0], u.m),
        spectral_index=index,
        viewcone_min=u.Quantity(runs["min_viewcone_radius"][0], u.deg),
        viewcone_max=u.Quantity(runs["max_viewcone_radius"][0], u.deg),
    )

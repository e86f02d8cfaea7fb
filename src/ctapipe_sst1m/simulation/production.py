"""One-call production of small toy files, for tests and examples."""

from pathlib import Path

__all__ = ["make_toy_file"]


def make_toy_file(
    path,
    particle="gamma",
    n_showers=10000,
    seed=0,
    *,
    zenith=20.0,
    azimuth=0.0,
    telescopes=(1, 2),
    r1=False,
    write_images=False,
    overwrite=True,
    config=None,
):
    """Run ``sst1m-simulate`` in-process and return the path of the DL1 file written.

    Parameters
    ----------
    path : str or pathlib.Path
        Output HDF5 file.
    particle : {"gamma", "gamma-diffuse", "proton"}
        Primary particle.
    n_showers : int
        Number of thrown showers (about 2.5 % of point-like gammas, 1.5 % of diffuse
        gammas and 0.1 % of protons trigger with the default ranges).
    seed : int
        Random seed; the same arguments give an identical file.
    zenith, azimuth : float
        Pointing [deg].
    telescopes : tuple of int
        Telescope ids, (1, 2) for MC numbering or (21, 22).
    r1 : bool
        Simulate R1 waveforms and calibrate them (also stores the waveforms).
    write_images : bool
        Also store DL1 images.
    overwrite : bool
        Replace an existing file.
    config : dict, optional
        Extra traitlets configuration, e.g.
        ``{"ShowerGenerator": {"max_scatter_range": 400.0, "viewcone": 4.0}}``.
    """
    from ctapipe.core import run_tool
    from traitlets.config import Config

    from ..tools.simulate import SimulateTool

    path = Path(path).expanduser().absolute()
    argv = [
        f"--particle={particle}",
        f"--n-showers={int(n_showers)}",
        f"--seed={int(seed)}",
        f"--zenith={float(zenith)}",
        f"--azimuth={float(azimuth)}",
        f"--output={path}",
        "--log-level=WARN",
    ]
    if r1:
        argv.append("--r1")
    if write_images:
        argv.append("--write-images")
    if overwrite:
        argv.append("--overwrite")
    full_config = Config(config or {})
    full_config.SST1MToyEventSource.telescopes = [int(t) for t in telescopes]
    tool = SimulateTool(config=full_config)
    run_tool(tool, argv, cwd=path.parent, raises=True)
    return path

"""The small offline source catalogue of the toy observation nights.

``resources/catalogue/sources.ecsv`` lists a few sources observed by SST-1M (ICRS positions);
:func:`resolve_target` finds a name there, case- and space-insensitively and through aliases.
Nothing is ever looked up on the network: a source that is not listed needs ``--ra/--dec``.
"""

from importlib.resources import files

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ..core.errors import SST1MInputError

__all__ = ["catalogue_path", "read_catalogue", "resolve_target"]


def catalogue_path():
    """Path of the packaged source catalogue (ECSV)."""
    return files("ctapipe_sst1m") / "resources" / "catalogue" / "sources.ecsv"


def read_catalogue():
    """The catalogue as an astropy table (name, ra, dec, aliases)."""
    with catalogue_path().open() as stream:
        return Table.read(stream.read(), format="ascii.ecsv")


def _key(name):
    return "".join(str(name).lower().split()).replace("_", "")


def resolve_target(name, ra=None, dec=None):
    """ICRS position of a target: ``ra``/``dec`` [deg] if both are given, else the catalogue.

    Returns
    -------
    name : str
        The catalogue spelling of the name (or ``name`` itself with explicit coordinates).
    coord : astropy.coordinates.SkyCoord
        ICRS position.

    Raises
    ------
    SST1MInputError
        If only one of ``ra``/``dec`` is given, or the name is not in the catalogue.
    """
    if (ra is None) != (dec is None):
        raise SST1MInputError("give both --ra and --dec (degrees, ICRS) or neither")
    if ra is not None:
        if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0):
            raise SST1MInputError(f"--ra {ra} / --dec {dec}: need 0 <= ra < 360, |dec| <= 90 deg")
        return str(name or "custom"), SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
    table = read_catalogue()
    wanted = _key(name)
    for row in table:
        names = [row["name"], *str(row["aliases"]).split("|")]
        if wanted in {_key(n) for n in names if n}:
            coord = SkyCoord(ra=row["ra"] * u.deg, dec=row["dec"] * u.deg, frame="icrs")
            return str(row["name"]), coord
    known = ", ".join(table["name"])
    raise SST1MInputError(
        f"target {name!r} is not in the local catalogue ({known}); give --ra and --dec"
    )

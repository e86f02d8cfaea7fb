"""Keep astropy (and anything built on it) off the network.

The SST-1M chain runs on observatory and batch machines where a surprise download is at best
slow and at worst a hang. IERS tables come from the ``astropy-iers-data`` package instead of
being fetched; remote data look-ups are refused. Setting the environment variable
``CTAPIPE_SST1M_ALLOW_NETWORK=1`` restores astropy's own defaults for users who want them.
"""

import os

__all__ = ["NETWORK_ENV_VAR", "disable_network_downloads"]

NETWORK_ENV_VAR = "CTAPIPE_SST1M_ALLOW_NETWORK"


def disable_network_downloads():
    """Switch off astropy's automatic IERS and remote-data downloads (idempotent)."""
    if os.environ.get(NETWORK_ENV_VAR, "0") not in ("", "0", "false", "False"):
        return
    from astropy.utils import iers
    from astropy.utils.data import conf as data_conf

    iers.conf.auto_download = False
    # the bundled tables age; an old table is a warning-free, documented approximation here
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    data_conf.allow_internet = False

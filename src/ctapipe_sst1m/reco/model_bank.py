"""Model banks: model directories for several zenith / azimuth / NSB nodes.

Layout understood by ``sst1m-dl1-dl2``::

    BANK/
      ze20_az180_nsb1.0/      one model directory per node (as written by sst1m-train-models)
        models.json           holds the node; the directory name is the fallback
        mono/ stereo/ ...
      ze40_az180_nsb1.0/
      ...

A plain model directory (``models.json`` directly inside) is a bank with one node. The node
nearest to the observation is chosen in (cos zenith, azimuth, NSB) with configurable scales;
nodes farther than ``max_delta_cos_zenith`` are never used, so an observation outside the
bank fails with a clear message instead of silently using a wrong model.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Float

from ..core import SST1MInputError
from ..io.pointing_tables import read_telescope_pointing, telescopes_with_pointing
from .metadata import MODELS_JSON, read_models_json

__all__ = [
    "file_node",
    "file_pointing",
    "ModelNode",
    "node_name",
    "discover_nodes",
    "NodeSelector",
    "NoModelNodeError",
]

_NODE_PATTERN = re.compile(r"^ze(?P<ze>[-+0-9.]+)_az(?P<az>[-+0-9.]+)(?:_nsb(?P<nsb>[-+0-9.]+))?$")


class NoModelNodeError(SST1MInputError, LookupError):
    """No model node of a bank fits the observation."""


@dataclass(frozen=True)
class ModelNode:
    """One node of a model bank: a model directory and the conditions it was trained for."""

    path: Path
    zenith_deg: float | None
    azimuth_deg: float | None
    nsb: float | None

    def as_dict(self):
        """JSON-serialisable description (for provenance and the DL2 file)."""
        return {
            "path": str(self.path),
            "zenith_deg": self.zenith_deg,
            "azimuth_deg": self.azimuth_deg,
            "nsb": self.nsb,
        }


def node_name(zenith_deg, azimuth_deg, nsb):
    """Directory name of a node, e.g. ``ze20_az180_nsb1.0``."""
    return f"ze{zenith_deg:g}_az{azimuth_deg:g}_nsb{float(nsb):g}"


def _node_from_dir(path):
    meta = read_models_json(path)
    node = meta.get("node") or {}
    match = _NODE_PATTERN.match(path.name)
    from_name = {}
    if match:
        from_name = {
            "zenith_deg": float(match["ze"]),
            "azimuth_deg": float(match["az"]),
            "nsb": float(match["nsb"]) if match["nsb"] is not None else None,
        }

    def pick(key):
        value = node.get(key)
        return float(value) if value is not None else from_name.get(key)

    return ModelNode(path, pick("zenith_deg"), pick("azimuth_deg"), pick("nsb"))


def discover_nodes(bank_dir):
    """All model nodes of a bank (or the single node of a plain model directory)."""
    bank_dir = Path(bank_dir)
    if not bank_dir.is_dir():
        raise NoModelNodeError(f"model directory {bank_dir} does not exist")
    if (bank_dir / MODELS_JSON).is_file():
        return [_node_from_dir(bank_dir)]
    nodes = [
        _node_from_dir(sub)
        for sub in sorted(bank_dir.iterdir())
        if sub.is_dir() and (sub / MODELS_JSON).is_file()
    ]
    if not nodes:
        raise NoModelNodeError(
            f"{bank_dir} holds no model directory ({MODELS_JSON} missing);"
            " train models with sst1m-train-models"
        )
    return nodes


def file_pointing(h5file):
    """Median (zenith, azimuth) in degrees of the telescope pointing stored in a DL1 file.

    (None, None) if the file holds no pointing (see `ctapipe_sst1m.io.pointing_tables`).
    """
    alts, azs = [], []
    for tel_id in telescopes_with_pointing(h5file):
        pointing = read_telescope_pointing(h5file, tel_id)
        if pointing is not None:
            alts.append(pointing.altitude.to_value(u.deg))
            azs.append(pointing.azimuth.to_value(u.rad))
    if not alts:
        return None, None
    alt = np.concatenate(alts)
    az = np.concatenate(azs)
    mean_az = np.rad2deg(np.arctan2(np.mean(np.sin(az)), np.mean(np.cos(az))))
    return float(90.0 - np.median(alt)), float(mean_az % 360.0)


def file_node(path, zenith=None, azimuth=None, nsb=None):
    """Node dictionary of models trained on the DL1 file ``path`` (for ``models.json``).

    ``zenith``/``azimuth`` (angle quantities) override the file's median pointing
    (`file_pointing`); ``nsb`` is stored as given.
    """
    import tables

    if zenith is None or azimuth is None:
        with tables.open_file(path) as h5file:
            file_zenith, file_azimuth = file_pointing(h5file)
    zenith_deg = file_zenith if zenith is None else zenith.to_value(u.deg)
    azimuth_deg = file_azimuth if azimuth is None else azimuth.to_value(u.deg)

    def _float(value):
        return None if value is None else float(value)

    return {"zenith_deg": _float(zenith_deg), "azimuth_deg": _float(azimuth_deg), "nsb": nsb}


class NodeSelector(Component):
    """Choose the model node nearest to an observation's pointing and NSB level.

    Distance² = (Δcos Z / cos_zenith_scale)² + (Δaz / azimuth_scale)² + (ΔNSB / nsb_scale)²;
    a term is skipped when the node or the observation does not define it.
    """

    cos_zenith_scale = Float(
        0.05, help="Difference in cos(zenith) that counts as one unit of node distance."
    ).tag(config=True)
    azimuth_scale = AstroQuantity(
        default_value=90.0 * u.deg,
        physical_type=u.physical.angle,
        help="Azimuth difference that counts as one unit of node distance.",
    ).tag(config=True)
    nsb_scale = Float(
        1.0, help="NSB-level difference that counts as one unit of node distance."
    ).tag(config=True)
    max_delta_cos_zenith = Float(
        0.1,
        help=(
            "Largest accepted |cos(zenith_obs) - cos(zenith_node)|; observations farther"
            " from every node are refused."
        ),
    ).tag(config=True)

    def distances(self, nodes, zenith_deg, azimuth_deg, nsb=None):
        """Node distances (``inf`` for nodes outside ``max_delta_cos_zenith``)."""
        result = np.zeros(len(nodes))
        cos_obs = np.cos(np.deg2rad(zenith_deg))
        for i, node in enumerate(nodes):
            if node.zenith_deg is None:
                continue  # a node without pointing information applies everywhere
            delta_cos = abs(np.cos(np.deg2rad(node.zenith_deg)) - cos_obs)
            if delta_cos > self.max_delta_cos_zenith:
                result[i] = np.inf
                continue
            total = (delta_cos / self.cos_zenith_scale) ** 2
            if node.azimuth_deg is not None and azimuth_deg is not None:
                delta_az = abs((azimuth_deg - node.azimuth_deg + 180.0) % 360.0 - 180.0)
                total += (delta_az / self.azimuth_scale.to_value(u.deg)) ** 2
            if node.nsb is not None and nsb is not None:
                total += ((nsb - node.nsb) / self.nsb_scale) ** 2
            result[i] = np.sqrt(total)
        return result

    def select(self, nodes, zenith_deg, azimuth_deg, nsb=None, source="observation"):
        """The nearest node; `NoModelNodeError` if none is within ``max_delta_cos_zenith``."""
        distance = self.distances(nodes, zenith_deg, azimuth_deg, nsb)
        best = int(np.argmin(distance))
        if not np.isfinite(distance[best]):
            zeniths = ", ".join(f"{n.zenith_deg:g}" for n in nodes)
            raise NoModelNodeError(
                f"{source}: no model node for zenith {zenith_deg:.1f}° (nodes at {zeniths}°,"
                f" accepted |Δcos Z| ≤ {self.max_delta_cos_zenith}); train models for this"
                " pointing or raise NodeSelector.max_delta_cos_zenith"
            )
        return nodes[best]

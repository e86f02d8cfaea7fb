"""Where everything of a production lives, and its record ``production.yaml``.

::

    PROD/production.yaml          the exact resolved configuration, package version, input hashes
    PROD/manifest.json            the workflow manifest (what ran, when, with which inputs)
    PROD/summary.md               one-page summary (resolutions, sensitivity per node)
    PROD/config/                  the configuration file of every stage (also copied by each log)
    PROD/dl1/<node>/              DL1 per run, and merged per role and part (train / test)
    PROD/models/<node>/           the model bank read by sst1m-dl1-dl2 (sst1m-train-models)
    PROD/dl2/<node>/              MC DL2 of the test parts, mono and stereo
    PROD/cuts/<node>/             cuts_<setup>.fits (sst1m-optimize-cuts)
    PROD/irf/<setup>/<irf node>/  the IRF bank (sst1m-make-irfs; bank.ecsv from sst1m-irf-bank)
    PROD/performance/<node>/      sst1m-performance tables and figures per setup
    PROD/logs/<stage>/            one log (+ configuration copy, provenance log) per task

``<node>`` is the model-bank node name (``ze20_az0[_nsb0.1]``); the IRF bank uses its own
node names (``zen20.0_az000.0_nsbnone``, :func:`ctapipe_sst1m.irf.bank.node_name`).
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..irf.bank import irf_file_name
from ..irf.bank import node_name as irf_node_name
from ..version import __version__
from .config import ProductionConfigError

__all__ = [
    "RECORD_NAME",
    "ProductionLayout",
    "file_sha256",
    "read_record",
    "record_production",
    "write_stage_config",
]

RECORD_NAME = "production.yaml"


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ProductionLayout:
    """Paths of one production directory."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())

    @property
    def record(self):
        return self.root / RECORD_NAME

    @property
    def manifest(self):
        return self.root / "manifest.json"

    @property
    def summary(self):
        return self.root / "summary.md"

    @property
    def config_dir(self):
        return self.root / "config"

    @property
    def models(self):
        """The model bank (one sub-directory per node)."""
        return self.root / "models"

    @property
    def irf(self):
        """The IRF bank."""
        return self.root / "irf"

    @property
    def bank_listing(self):
        return self.irf / "bank.ecsv"

    def stage_config(self, name):
        return self.config_dir / f"{name}.yaml"

    def log(self, stage, name):
        return self.root / "logs" / stage / f"{name}.log"

    def provenance_log(self, stage, name):
        return self.root / "logs" / stage / f"{name}.provenance.log"

    def dl1_run(self, node, role, part, index):
        return self.root / "dl1" / node / f"{role}_{part}_{index:03d}.dl1.h5"

    def dl1(self, node, role, part):
        """Merged DL1 of one role and part (train / test)."""
        return self.root / "dl1" / node / f"{role}_{part}.dl1.h5"

    def model_dir(self, node):
        return self.models / node

    def dl2(self, node, role, mode):
        return self.root / "dl2" / node / f"{role}_test.{mode}.dl2.h5"

    def cuts(self, node, setup):
        return self.root / "cuts" / node / f"cuts_{setup}.fits"

    def irf_file(self, node, setup, tag, point_like):
        """IRF file ``sst1m-make-irfs`` writes for this node (``node``: a `Node`)."""
        nsb = "none" if node.nsb is None else str(node.nsb)
        name = irf_node_name(node.zenith_deg, node.azimuth_deg, nsb)
        return self.irf / setup / name / irf_file_name(setup, name, tag, point_like)

    def performance_dir(self, node):
        return self.root / "performance" / node

    def performance_file(self, node, setup):
        return self.performance_dir(node) / f"performance_{setup}.fits.gz"


def _hashes(production, previous):
    """SHA-256 of every input file; reused from ``previous`` when size and mtime are unchanged."""
    old = {h["path"]: h for h in (previous or {}).get("input_hashes", [])}
    paths = []
    if production.processing_config is not None:
        paths.append(production.processing_config)
    for node in production.nodes:
        for files in node.files.values():
            paths.extend(files)
    result = []
    for path in dict.fromkeys(paths):
        stat = path.stat()
        known = old.get(str(path))
        if known and known.get("size") == stat.st_size and known.get("mtime") == stat.st_mtime:
            result.append(known)
            continue
        result.append(
            {
                "path": str(path),
                "size": stat.st_size,
                "mtime": stat.st_mtime,
                "sha256": file_sha256(path),
            }
        )
    return result


def read_record(path):
    """The content of a ``production.yaml`` (None if absent)."""
    path = Path(path)
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text()) or {}


def record_production(layout, production, overwrite=False, dry_run=False):
    """Write ``PROD/production.yaml`` (or check it against an earlier run of the same directory).

    A re-run of a directory with a different configuration is refused (one line naming the
    differing keys) unless ``overwrite``. Returns the record (None for a dry run: only the
    check, nothing hashed or written).
    """
    previous = read_record(layout.record)
    resolved = production.resolved()
    if previous is not None and not overwrite:
        before = previous.get("configuration", {})
        differ = sorted(k for k in set(before) | set(resolved) if before.get(k) != resolved.get(k))
        if differ:
            raise ProductionConfigError(
                f"{layout.record}: this production directory was made with a different"
                f" configuration ({', '.join(differ)} differ); use a new --output-dir, or"
                " --overwrite to redo it with this one"
            )
    if dry_run:
        return None
    record = {
        "production": production.name,
        "package_version": __version__,
        "source": production.source,
        "configuration": resolved,
        "input_hashes": _hashes(production, previous),
    }
    if previous is not None and previous.get("package_version") != __version__:
        record["previous_package_version"] = previous.get("package_version")
    layout.root.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    pending = layout.record.with_name(f".{RECORD_NAME}.part")
    pending.write_text(text)
    pending.replace(layout.record)
    return record


def write_stage_config(path, config):
    """Write a stage configuration (YAML) only if its content changed (keeps the manifest)."""
    text = yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=True)
    path = Path(path)
    if path.is_file() and path.read_text() == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pending = path.with_name(f".{path.name}.part")
    pending.write_text(text)
    pending.replace(path)
    return path

"""One small toy production per test run, made by the real command with two workers
(configuration and sizes: tests/helpers/toy_production.py). It is built once for all xdist
workers (`shared_products.build_once`): a per-worker session fixture built it twice."""

import subprocess
from pathlib import Path

import pytest
from shared_products import build_once
from toy_production import production_yaml, run


class ToyProduction:
    def __init__(self, root, config, output, result):
        self.root, self.config, self.output, self.result = root, config, output, result


def _build(root):
    config = production_yaml(root / "production.yaml")
    result = run(config, root / "PROD", "--workers=2")
    (root / "stdout.txt").write_text(result.stdout)
    (root / "stderr.txt").write_text(result.stderr)


@pytest.fixture(scope="session")
def toy_production(tmp_path_factory):
    """The two-node toy production, made once with ``--workers 2``; treat it as read-only."""
    root = Path(build_once(tmp_path_factory, "toy_production", _build))
    result = subprocess.CompletedProcess(
        args=[], returncode=0, stdout=(root / "stdout.txt").read_text(),
        stderr=(root / "stderr.txt").read_text(),
    )  # fmt: skip
    return ToyProduction(root, root / "production.yaml", root / "PROD", result)

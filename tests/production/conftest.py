"""One small toy production per test session, made by the real command with two workers
(configuration and sizes: tests/helpers/toy_production.py)."""

import pytest
from toy_production import production_yaml, run


class ToyProduction:
    def __init__(self, root, config, output, result):
        self.root, self.config, self.output, self.result = root, config, output, result


@pytest.fixture(scope="session")
def toy_production(tmp_path_factory):
    """The two-node toy production, made once with ``--workers 2``."""
    root = tmp_path_factory.mktemp("production")
    config = production_yaml(root / "production.yaml")
    output = root / "PROD"
    result = run(config, output, "--workers=2")
    return ToyProduction(root, config, output, result)

"""DL3 tests: the synthetic bank helpers (`synthetic_bank`) are importable from the tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# TEMPORARY until the shared ``chain`` fixture is on main: the same products built once by
# tests/helpers/chain.py into SST1M_DL3_CHAIN (the DL3 helper's own copy).
import os  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def chain():
    root = os.environ.get("SST1M_DL3_CHAIN")
    if not root:
        pytest.skip("the shared chain products are not available")
    sys.path.insert(0, "/tmp/dl3chain")
    from chain_copy import Chain

    return Chain(Path(root))

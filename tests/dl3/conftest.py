"""DL3 tests: the synthetic bank helpers (`synthetic_bank`) are importable from the tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

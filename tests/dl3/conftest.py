"""DL3 tests: the synthetic bank helpers (`synthetic_bank`) are importable from the tests.

The end-to-end tests use the shared session fixture ``chain`` (tests/conftest.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

"""Stock ctapipe discovers the package's components through entry points (fresh interpreters)."""

import json
import subprocess
import sys
from importlib.metadata import entry_points

import ctapipe_sst1m


def _fresh(code):
    """Run ``code`` in a new interpreter that never imported ctapipe_sst1m itself."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_entry_points_point_into_the_package():
    for group in ("ctapipe_io", "ctapipe_reco"):
        eps = entry_points(group=group)
        ours = [ep for ep in eps if ep.value.startswith("ctapipe_sst1m.")]
        assert ours, f"no ctapipe_sst1m entry point in group {group}"
        for ep in ours:
            obj = ep.load()
            assert obj.__module__.startswith("ctapipe_sst1m.")


def test_stock_ctapipe_finds_sst1m_components():
    found = _fresh(
        "import json, sys\n"
        "from ctapipe.image import ImageCleaner\n"
        "from ctapipe.io import EventSource\n"
        "from ctapipe.reco import Reconstructor\n"
        "sources = sorted(EventSource.non_abstract_subclasses())\n"
        "cleaners = sorted(ImageCleaner.non_abstract_subclasses())\n"
        "recos = sorted(Reconstructor.non_abstract_subclasses())\n"
        "print(json.dumps({'cleaners': cleaners, 'sources': sources, 'recos': recos,\n"
        "    'imported': 'ctapipe_sst1m' in sys.modules}))\n"
    )
    # ImageCleaner has no entry-point group: the cleaner is found only because the ctapipe_io
    # entry-point module imports it once the io plugins are discovered (listing the sources
    # first), which is exactly the order in which stock ctapipe-process builds its classes
    assert "ImageCleanerSST" in found["cleaners"]
    assert "SST1MEventSource" in found["sources"]
    assert found["imported"]


def test_plugin_version_reported():
    assert ctapipe_sst1m.__version__
    out = subprocess.run(
        [sys.executable, "-m", "ctapipe.tools.info", "--plugins"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ctapipe_sst1m" in out.stdout + out.stderr
    assert ctapipe_sst1m.__version__ in out.stdout + out.stderr

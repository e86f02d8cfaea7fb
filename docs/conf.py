"""Sphinx configuration for ctapipe-sst1m."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import ctapipe_sst1m  # noqa: E402

project = "ctapipe-sst1m"
author = "ctapipe-sst1m developers"
copyright = "2026, ctapipe-sst1m developers"
version = release = ctapipe_sst1m.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_automodapi.automodapi",
]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
autosummary_generate = True
autodoc_typehints = "none"
# traitlets/ctapipe docstrings are not all numpydoc-clean; do not fail the build on theirs
numpydoc_validation_checks = set()
suppress_warnings = ["autosummary.import_cycle"]
nitpicky = False

# offline build: no intersphinx downloads
intersphinx_mapping = {}

templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []

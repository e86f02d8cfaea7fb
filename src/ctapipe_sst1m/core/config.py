"""Reading and checking configuration: one reader for YAML/JSON, and no silent typos.

traitlets ignores a configuration section whose name matches no class (``ImageCleanerSTT:``)
and only warns about unknown keys of classes that happen to be instantiated. A typo then
silently leaves the default in place. :func:`check_config` refuses both: every section must
name a configurable class known at that moment (ctapipe's and this package's components are
imported first), and every key of a section must be a configurable trait of that class or a
nested section of a known class.
"""

import difflib
import json
from importlib.resources import files
from pathlib import Path

import yaml
from traitlets.config import Config, Configurable

from .errors import SST1MInputError

__all__ = ["check_config", "known_configurables", "packaged_config_path", "read_config_file"]


def packaged_config_path(name):
    """Path of a configuration file shipped in ``ctapipe_sst1m/resources/config``."""
    return Path(str(files("ctapipe_sst1m") / "resources" / "config" / name))


def read_config_file(path):
    """Read a YAML or JSON configuration file into a traitlets ``Config``.

    Raises `SST1MInputError` (one line naming the file) if it cannot be read or parsed, or if
    its top level is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SST1MInputError(f"{path}: cannot read the configuration ({err.strerror})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SST1MInputError(f"{path}: not valid YAML/JSON ({first}); fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SST1MInputError(f"{path}: the top level must be a mapping of sections")
    return Config(data)


def _import_components():
    # the classes a configuration may name must be imported before the names are checked
    import ctapipe.calib  # noqa: F401
    import ctapipe.image  # noqa: F401
    import ctapipe.io  # noqa: F401
    import ctapipe.irf  # noqa: F401
    import ctapipe.reco  # noqa: F401
    from ctapipe.core.plugins import detect_and_import_plugins

    for group in ("ctapipe_io", "ctapipe_reco", "ctapipe_monitoring"):
        detect_and_import_plugins(group)
    from .. import calib, image, io, reco, stereo  # noqa: F401


def known_configurables(import_all=True):
    """``{class name: class}`` of every configurable class imported so far.

    With ``import_all`` the components of ctapipe, its plugins and this package are imported
    first (a few seconds: ctapipe.reco imports scikit-learn).
    """
    if import_all:
        _import_components()
    found = {}
    stack = [Configurable]
    while stack:
        cls = stack.pop()
        found.setdefault(cls.__name__, cls)
        stack.extend(cls.__subclasses__())
    return found


def _suggest(name, candidates):
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def check_config(config, source="configuration", known=None):
    """Raise `SST1MInputError` for sections or keys that no configurable class reads.

    Parameters
    ----------
    config : traitlets.config.Config
        The merged configuration (files and command line).
    source : str
        How to name the configuration in the message (e.g. the file names).
    known : dict or None
        ``{name: class}``; by default :func:`known_configurables`.
    """
    if known is None:
        # the classes imported already (those of the tool) know most configurations; only
        # when they do not, import every component before refusing a name
        try:
            return check_config(config, source, known_configurables(import_all=False))
        except SST1MInputError:
            known = known_configurables()
    problems = []
    for section, values in config.items():
        _check_section(section, values, known, problems, section)
    if problems:
        raise SST1MInputError(f"{source}: " + "; ".join(problems))


def _check_section(section, values, known, problems, where):
    cls = known.get(section)
    if cls is None:
        problems.append(f"unknown section {where}{_suggest(section, known)}")
        return
    if not isinstance(values, dict):
        problems.append(f"section {where} must be a mapping, not {type(values).__name__}")
        return
    traits = set(cls.class_trait_names(config=True))
    for key, value in values.items():
        if key in traits:
            continue
        if key in known and isinstance(value, dict):
            _check_section(key, value, known, problems, f"{where}.{key}")
        else:
            problems.append(f"{where} has no option {key}{_suggest(key, traits)}")

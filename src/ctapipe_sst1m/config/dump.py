"""The complete, commented standard configuration of the installed version (``sst1m-dump-config``).

Nothing here is written by hand: for each stage, the sections are the configurable classes of
the stage's Tools (their ``classes`` and the Tool itself), every key is a configurable trait
with its ``help`` as a comment, and every value is the class default overlaid with the packaged
SST-1M configuration (``resources/config``) that the tool loads. A new trait or a changed
default therefore appears in the dump of the next version by itself.

What is left out, and why (each is named in a comment of the file):

* alternatives that the configuration does not select: of the event sources, extractors,
  cleaners, gain selectors, reconstructors and monitoring sources only the classes named by a
  selection trait (``image_extractor_type``, ``image_cleaner_type``, ``reconstructor_types`` …)
  or the packaged configuration are dumped, plus the event source of the kind of input;
* the per-run options (input and output files), written commented out;
* options whose default is computed at run time, and values without a YAML form (objects):
  commented out, so that the run-time default stays in force;
* the options of ctapipe's ``Tool`` itself (logging, provenance log, config files).

The training stage is special: ``sst1m-train-models`` reads one configuration per mode
(``mono_config``/``stereo_config``) whose sections have the same names, so a dump of that stage
is three documents (`dump_stage` returns them all): the tool's file, whose ``mono_config`` and
``stereo_config`` name the two mode files written beside it.
"""

import enum
import importlib
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import ctapipe
import numpy as np
import yaml
from ctapipe.core import Tool
from traitlets import Container, Dict, Instance, Type
from traitlets.config import Application, Configurable

from ..core.config import packaged_config_path, read_config_file
from ..version import __version__

__all__ = [
    "STAGES",
    "DumpedFile",
    "dump_stage",
    "render_sections",
    "import_stage_tools",
    "stage_tools",
    "yaml_value",
]

#: stage → (tool modules and class names, packaged configs per kind, data-only tools)
STAGES = {
    "r0_dl1": {
        "tools": [("ctapipe_sst1m.tools.r0_dl1", "SST1MR0DL1Tool")],
        "configs": {"mc": ["r0_dl1_mc.yaml"], "data": ["r0_dl1_data.yaml"]},
    },
    "train": {
        "tools": [("ctapipe_sst1m.tools.train_models", "TrainModelsTool")],
        "configs": {},
        "mode_files": {"mono": "train_mono.yaml", "stereo": "train_stereo.yaml"},
    },
    "dl2": {
        "tools": [
            ("ctapipe_sst1m.tools.dl1_stereo", "DL1StereoTool"),
            ("ctapipe_sst1m.tools.dl1_dl2", "DL1ToDL2Tool"),
        ],
        "configs": {},
    },
    "irf": {
        "tools": [
            ("ctapipe_sst1m.tools.optimize_cuts", None),
            ("ctapipe_sst1m.tools.make_irfs", "MakeIrfsTool"),
            ("ctapipe_sst1m.tools.performance", None),
        ],
        "configs": {"mc": ["irf_defaults.yaml"], "data": ["irf_defaults.yaml"]},
    },
    "dl3": {
        "tools": [
            ("ctapipe_sst1m.tools.dl2_dl3", None),
            ("ctapipe_sst1m.tools.create_index", None),
        ],
        "configs": {},
    },
}
STAGE_ORDER = ["r0_dl1", "train", "dl2", "irf", "dl3"]

#: options given per run on the command line: written commented out
RUN_TRAITS = {
    "input_url",
    "input_urls",
    "input_files",
    "input_path",
    "output_path",
    "output_dir",
    "output_file",
    "reclean_path",
    "seed_path",
    "nsb_file",
    "gamma_file",
    "proton_file",
    "electron_file",
    "gamma_path",
    "proton_path",
    "electron_path",
    "model_dir",
    "irf_bank",
    "bank_dir",
}
#: event sources dumped for each kind of input (the others are not selected)
SOURCES = {"data": {"SST1MEventSource"}, "mc": {"HDF5EventSource", "SimTelEventSource"}}
_SKIP = object()


@dataclass
class DumpedFile:
    """One YAML document of a dump: ``suffix`` ("" for the main file) and its text."""

    suffix: str
    text: str
    sections: dict = field(default_factory=dict)


def _family_bases():
    from ctapipe.calib.camera.gainselection import GainSelector
    from ctapipe.image import ImageCleaner, ImageExtractor
    from ctapipe.image.invalid_pixels import InvalidPixelHandler
    from ctapipe.io import EventSource
    from ctapipe.io.monitoringsource import MonitoringSource
    from ctapipe.reco import Reconstructor

    return (
        EventSource,
        ImageCleaner,
        ImageExtractor,
        GainSelector,
        InvalidPixelHandler,
        MonitoringSource,
        Reconstructor,
    )


def _tool_class(module_name, class_name):
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    if class_name is not None:
        return getattr(module, class_name, None)
    tools = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Tool) and v.__module__ == module.__name__
    ]
    return tools[0] if tools else None


def stage_tools(stage, kind):
    """The Tool classes of ``stage`` for ``kind`` (``mc``/``data``); missing modules skipped."""
    tools = []
    for module_name, class_name in STAGES[stage]["tools"]:
        if kind == "mc" and module_name.endswith("dl1_stereo"):
            continue  # stereo event matching is for observed data only
        cls = _tool_class(module_name, class_name)
        if cls is not None:
            tools.append(cls)
    return tools


def yaml_value(value):
    """A YAML-representable copy of a configuration value (quantities as ``"1.0 deg"``,
    enums by name, numpy as Python), or a sentinel if it has no YAML form."""
    return _plain(value)


def import_stage_tools():
    """Import the Tool modules of every stage (their classes become known configurables)."""
    return [tool for stage in STAGE_ORDER for kind in SOURCES for tool in stage_tools(stage, kind)]


def _plain(value):
    if isinstance(value, u.Quantity):
        return f"{float(value.value)!r} {value.unit.to_string()}" if value.isscalar else _SKIP
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        out = {k if isinstance(k, int | str) else str(k): _plain(v) for k, v in value.items()}
        return _SKIP if any(v is _SKIP for v in out.values()) else out
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, str | bytes):
        return value if isinstance(value, str) else _SKIP
    if isinstance(value, Sequence):  # lists, tuples, ctapipe's TelescopePatternList
        out = [_plain(v) for v in value]
        return _SKIP if any(v is _SKIP for v in out) else out
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return _SKIP


def _dynamic_default(cls, name):
    return any(name in vars(k).get("_trait_default_generators", {}) for k in cls.__mro__)


def _default(trait):
    try:
        return trait.default()
    except Exception:  # noqa: BLE001 - a default that cannot be made without an instance
        return _SKIP


def _is_object_trait(trait):
    """Instance/Type traits holding objects (not the List/Set/Dict containers)."""
    return isinstance(trait, Type) or (
        isinstance(trait, Instance) and not isinstance(trait, Container | Dict)
    )


def _is_tool_base_trait(trait):
    owner = getattr(trait, "this_class", None)
    return owner is not None and (owner in (Tool, Application) or not issubclass(owner, Tool))


def _selected_names(config, classes):
    names = set()

    def walk(value):
        if isinstance(value, str):
            names.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple | set):
            for v in value:
                walk(v)

    for cls in classes:
        for name, trait in cls.class_traits(config=True).items():
            walk(config.get(cls.__name__, {}).get(name, trait.default_value))
    return names


def _is_selected(cls, selected, families):
    for base in families:
        if issubclass(cls, base) and cls is not base:
            return cls.__name__ in selected
    return True


def _entries(cls, config, tool=False, dumped=()):
    """[(name, help, value or _SKIP, commented reason or None)] of one class.

    Traits inherited from a class that has its own section (``dumped``) are left to it.
    """
    section = config.get(cls.__name__, {})
    entries = []
    for name, trait in sorted(cls.class_traits(config=True).items()):
        owner = getattr(trait, "this_class", cls)
        if tool and (_is_tool_base_trait(trait) or owner is not cls):
            continue
        if owner is not cls and owner in dumped and name not in section:
            continue
        helptext = " ".join(str(trait.help or "").split()) or "(no help text)"
        if name in section:
            value, note = _plain(section[name]), "SST-1M default"
        elif _is_object_trait(trait) or _dynamic_default(cls, name):
            entries.append((name, helptext, _SKIP, "default computed at run time"))
            continue
        else:
            value, note = _plain(_default(trait)), None
        if value is _SKIP:
            entries.append((name, helptext, _SKIP, "no YAML form; default kept"))
        elif name in RUN_TRAITS:
            entries.append((name, helptext, value, "given per run"))
        else:
            entries.append((name, helptext, value, note))
    nested = {
        k: v for k, v in section.items() if k not in cls.class_trait_names(config=True)
    }  # nested sections of the packaged configuration (e.g. a QualityQuery of a reconstructor)
    return entries, nested


def _yaml_value(name, value):
    """``["name: value"]`` with the value in YAML flow style on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return [f"{name}: {text}"]


def render_sections(sections, header):
    """YAML text: ``header`` comment lines, then each section with commented keys."""
    lines = [f"# {h}" if h else "#" for h in header]
    for name, (doc, entries, nested) in sections.items():
        lines.append("")
        for line in textwrap.wrap(doc, 96):
            lines.append(f"# {line}")
        lines.append(f"{name}:")
        body, n_keys = [], len(nested)
        for key, helptext, value, note in entries:
            for line in textwrap.wrap(helptext, 92):
                body.append(f"  # {line}")
            if value is _SKIP:
                body.append(f"  # {key}: ({note})")
                continue
            rendered = _yaml_value(key, value)
            n_keys += note != "given per run"
            if note in ("given per run",):
                body.extend(f"  # {line}  ({note})" for line in rendered[:1])
                body.extend(f"  # {line}" for line in rendered[1:])
            else:
                if note:
                    body.append(f"  # ({note})")
                body.extend(f"  {line}" for line in rendered)
        if nested:
            body.append("  # nested sections of the packaged configuration")
            text = yaml.safe_dump(_plain(nested), sort_keys=False, width=100)
            body.extend(f"  {line}" for line in text.splitlines())
        if not n_keys:
            lines[-1] += " {}"  # all keys commented out: an empty section, not null
        lines.extend(body)
    return "\n".join(lines) + "\n"


def _header(stage, kind, what):
    return [
        f"ctapipe-sst1m {__version__} standard configuration: stage {stage}, {kind.upper()}"
        f" ({what})",
        f"written by sst1m-dump-config with ctapipe {ctapipe.__version__}; every key is an"
        " option of the class named by its section",
        "(sst1m-<command> --help-all), with its help as comment; 'SST-1M default' marks the",
        "values of the packaged configuration, the others are the class defaults.",
        "Give it to the commands with -c; typos in sections or keys are refused.",
    ]


def _class_sections(tools, config, kind, selected_extra=()):
    families = _family_bases()
    classes = []
    for tool in tools:
        for cls in [tool, *tool.classes]:
            if cls not in classes:
                classes.append(cls)
    selected = _selected_names(config, classes) | SOURCES[kind] | set(config) | set(selected_extra)
    sections = {}
    chosen = [
        cls
        for cls in classes
        if issubclass(cls, Configurable) and _is_selected(cls, selected, families)
    ]
    for cls in chosen:
        entries, nested = _entries(cls, config, issubclass(cls, Tool), set(chosen))
        if not entries and not nested:
            continue
        doc = (cls.__doc__ or cls.__name__).strip().split("\n\n")[0]
        sections[cls.__name__] = (" ".join(doc.split()), entries, nested)
    # sections of the packaged configuration that no tool class lists (e.g. read by a parent)
    for name, values in config.items():
        if name not in sections and isinstance(values, dict):
            from ..core.config import known_configurables

            cls = known_configurables().get(name)
            if cls is not None:
                entries, nested = _entries(cls, config)
                doc = (cls.__doc__ or name).strip().split("\n\n")[0]
                sections[name] = (" ".join(doc.split()), entries, nested)
    return sections


def _packaged(stage, kind):
    from traitlets.config import Config

    config = Config()
    for name in STAGES[stage]["configs"].get(kind, []):
        config.merge(read_config_file(packaged_config_path(name)))
    return config


def dump_stage(stages, kind, mode_file_names=None):
    """The dump of ``stages`` (list of stage names) for ``kind`` (``"mc"`` or ``"data"``).

    Returns a list of `DumpedFile`; the first is the main file. ``mode_file_names`` maps
    ``mono``/``stereo`` to the names the training mode files get (written beside the main
    file), needed when ``train`` is among the stages.
    """
    if kind not in SOURCES:
        raise ValueError(f"kind must be 'mc' or 'data', not {kind!r}")
    from traitlets.config import Config

    sections, extra = {}, []
    for stage in stages:
        config = _packaged(stage, kind)
        tools = stage_tools(stage, kind)
        mode_files = STAGES[stage].get("mode_files")
        if mode_files:
            names = mode_file_names or {m: f"{m}.yaml" for m in mode_files}
            for tool in tools:
                config.setdefault(tool.__name__, Config())
                for mode in mode_files:
                    config[tool.__name__][f"{mode}_config"] = str(names[mode])
            for mode, packaged in mode_files.items():
                mode_config = read_config_file(packaged_config_path(packaged))
                mode_sections = _class_sections([], mode_config, kind)
                header = _header(stage, kind, f"{mode} training, read through {mode}_config")
                text = render_sections(mode_sections, header)
                extra.append(DumpedFile(f".train_{mode}", text, mode_sections))
        for name, section in _class_sections(tools, config, kind).items():
            sections.setdefault(name, section)
    what = ", ".join(
        f"{stage}: " + " ".join(t.name for t in stage_tools(stage, kind)) for stage in stages
    )
    header = _header("+".join(stages), kind, what)
    main = DumpedFile("", render_sections(sections, header), sections)
    return [main, *extra]

"""Every alias and flag of every ``sst1m-*`` command reaches a trait that the command reads.

An option that is accepted and then ignored is a bug (a subclass of a ctapipe Tool inherits its
aliases; a Tool that overrides the methods reading an inherited trait must drop the option).

For a target ``Class.trait``:

* ``Class`` is the tool's class, one of its bases, or a component listed in ``classes``;
* the trait exists and is configurable;
* if ``Class`` is the tool or one of its bases, the trait is read (``self.<trait>``) by a method
  that the tool really uses: the methods as resolved on the tool class, so a base-class method
  the tool overrides does not count.
"""

import inspect
import re
from importlib.metadata import entry_points

import pytest
from ctapipe.core import Tool
from traitlets.config import Application

_COMMON = {Tool, Application}


def _sst1m_tools():
    found = []
    for ep in entry_points(group="console_scripts"):
        if ep.name.startswith("sst1m-"):
            module = ep.load().__module__
            mod = __import__(module, fromlist=["_"])
            tools = [
                v
                for v in vars(mod).values()
                if inspect.isclass(v) and issubclass(v, Tool) and v.name == ep.name
            ]
            assert len(tools) == 1, f"{ep.name}: expected one Tool class in {module}"
            found.append(tools[0])
    return sorted(found, key=lambda cls: cls.name)


TOOLS = _sst1m_tools()


def _targets(tool):
    for key, target in tool.aliases.items():
        yield f"alias {key}", target
    for key, (config, _) in tool.flags.items():
        for cls_name, values in dict(config).items():
            for trait in values:
                yield f"flag {key}", f"{cls_name}.{trait}"


def _function(attr):
    func = getattr(attr, "fget", None) or getattr(attr, "__func__", None) or attr
    return func if inspect.isfunction(func) else None


def _resolved_source(tool_cls):
    """Source of every method the tool class resolves (most-derived definitions only).

    A method that calls ``super().name(...)`` brings in the next definition of ``name`` along
    the MRO, since that one runs too.
    """
    mro = tool_cls.__mro__
    parts, seen = [], set()

    def add(owner_index, name):
        for cls in mro[owner_index:]:
            func = _function(vars(cls).get(name))
            if func is None:
                continue
            if func in seen:
                return
            seen.add(func)
            try:
                text = inspect.getsource(func)
            except (OSError, TypeError):
                return
            parts.append(text)
            for called in re.findall(r"super\(\)\.(\w+)\(", text):
                add(mro.index(cls) + 1, called)
            return

    for name in dir(tool_cls):
        add(0, name)
    return "\n".join(parts)


@pytest.mark.parametrize("tool_cls", TOOLS, ids=lambda c: c.name)
def test_every_option_reaches_a_read_trait(tool_cls):
    tool = tool_cls()
    # a component is configurable through the names of its classes and their bases
    classes = {base.__name__: base for cls in tool_cls.classes for base in cls.__mro__}
    bases = {cls.__name__: cls for cls in tool_cls.__mro__ if issubclass(cls, Application)}
    source = _resolved_source(tool_cls)
    problems = []
    for option, target in _targets(tool):
        cls_name, _, trait = target.rpartition(".")
        cls = bases.get(cls_name) or classes.get(cls_name)
        if cls is None:
            problems.append(f"{option} -> {target}: {cls_name} is not configurable here")
            continue
        if trait not in cls.class_trait_names(config=True):
            problems.append(f"{option} -> {target}: no such configurable trait")
            continue
        if cls in _COMMON or cls_name not in bases:
            continue
        if not re.search(rf"\bself\.{trait}\b", source):
            problems.append(f"{option} -> {target}: the tool never reads {trait}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("tool_cls", TOOLS, ids=lambda c: c.name)
def test_help_examples_are_indented_consistently(tool_cls):
    lines = [line for line in tool_cls.examples.strip("\n").splitlines() if line.strip()]
    assert lines, f"{tool_cls.name} has no examples"
    commands = [line for line in lines if line.lstrip().startswith("sst1m-")]
    assert commands, f"{tool_cls.name}: examples show no sst1m- command"
    indents = {len(line) - len(line.lstrip()) for line in commands}
    assert len(indents) == 1, f"{tool_cls.name}: example commands indented {sorted(indents)}"

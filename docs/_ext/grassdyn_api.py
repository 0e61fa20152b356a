"""The public API of grassdyn, walked from ``__all__``, and the Sphinx pages documenting it.

One walker serves the site and the test suite (``tests/test_docs.py``), so the
API reference and the "every public name has a docstring" test cannot disagree.

Which names are public
----------------------
The public modules are those named in ``grassdyn.__all__`` and, below any
public package, every submodule whose name does not start with ``_``
(``grassdyn.ssl.quadratic``, ``grassdyn.report.checks``, ...). A module's public
names are its ``__all__``; a module without ``__all__`` exposes the functions
and classes it defines, and the constants it documents with a ``#:`` comment,
whose names do not start with ``_``. Modules added later
(``grassdyn.width``, ``grassdyn.sweep``, a new ``grassdyn.ssl`` module) are
picked up without editing the docs.

Each object is documented once, at its *canonical* name: the first public
module, in breadth-first order from ``grassdyn``, whose public names hold it
(``grassdyn.ssl.Alignment`` rather than ``grassdyn.ssl.quadratic.Alignment``).
Other modules exposing it link there. A constant has no ``__doc__`` of its own:
its docstring is the ``#:`` comment before (or the string after) its
assignment, looked up in the exporting module first, then in every grassdyn
module (a constant re-exported from a private module keeps its comment there),
and written into the page directly, since autodoc would look only in the
exporting module.

The pages are written when the configuration is read, before Sphinx lists its
sources, so that a fresh checkout (which has none of them) builds.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = "grassdyn"


@dataclass
class Member:
    """One public name of a public module."""

    module: str
    name: str
    obj: object
    kind: str  # "module", "class", "function", "data"
    canonical: str = ""  # full dotted name where it is documented
    doc: str = ""  # its docstring (``#:`` comment for data); "" if none

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class Module:
    """A public module, its public names and public submodules."""

    name: str
    module: types.ModuleType
    members: list[Member] = field(default_factory=list)
    submodules: list[str] = field(default_factory=list)


def _kind(obj: object) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    documented_constants = _attr_docs(module.__name__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (
            ((inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__)
            or name in documented_constants
        )
    ]


def _submodules(module: types.ModuleType) -> list[str]:
    if not hasattr(module, "__path__"):
        return []
    return sorted(
        f"{module.__name__}.{info.name}"
        for info in pkgutil.iter_modules(module.__path__)
        if not info.name.startswith("_")
    )


def _attr_docs(modname: str) -> dict[str, str]:
    """``#:`` comments and string literals after module-level assignments."""
    from sphinx.pycode import ModuleAnalyzer

    try:
        analyzer = ModuleAnalyzer.for_module(modname)
        docs = analyzer.find_attr_docs()
    except Exception:  # a module without source (compiled): no attribute docs
        return {}
    return {name: "\n".join(lines).strip() for (scope, name), lines in docs.items() if scope == ""}


def _all_modules_below(package: str) -> list[str]:
    """Every module (private ones too) of a package, to find where a constant is defined."""
    module = importlib.import_module(package)
    found = [package]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            found.append(info.name)
    return found


def walk(root: str = ROOT) -> list[Module]:
    """The public modules of ``root`` in breadth-first order, with canonical names resolved."""
    modules: list[Module] = []
    seen: set[str] = set()
    queue = [root]
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        module = importlib.import_module(name)
        entry = Module(name, module)
        for public in _public_names(module):
            if not hasattr(module, public):
                raise AttributeError(f"{name}.__all__ names {public!r}, which {name} does not define")
            obj = getattr(module, public)
            if inspect.ismodule(obj):
                if obj.__name__ not in entry.submodules:
                    entry.submodules.append(obj.__name__)
                continue
            entry.members.append(Member(name, public, obj, _kind(obj)))
        for sub in _submodules(module):
            if sub not in entry.submodules:
                entry.submodules.append(sub)
        queue.extend(entry.submodules)
        modules.append(entry)
    _resolve(modules, root)
    return modules


def _resolve(modules: list[Module], root: str) -> None:
    """Give every member its canonical name and its docstring."""
    attr_docs: dict[str, dict[str, str]] = {}

    def docs_of(modname: str) -> dict[str, str]:
        if modname not in attr_docs:
            attr_docs[modname] = _attr_docs(modname)
        return attr_docs[modname]

    everywhere = _all_modules_below(root)
    canonical: dict[tuple[str, int], str] = {}
    for module in modules:
        for member in module.members:
            # Constants (ints, tuples) can be shared objects: key them by name too.
            key = (member.name if member.kind == "data" else "", id(member.obj))
            canonical.setdefault(key, member.qualname)
            member.canonical = canonical[key]
            if member.kind != "data":
                member.doc = inspect.getdoc(member.obj) or ""
                continue
            # A re-exported constant's ``#:`` comment is in the module defining it.
            member.doc = next(
                (docs_of(m)[member.name] for m in [module.name, *everywhere] if member.name in docs_of(m)),
                "",
            )


def undocumented(modules: list[Module]) -> list[str]:
    """Public names (modules included) without a docstring, by their public dotted name."""
    missing = [m.name for m in modules if not (m.module.__doc__ or "").strip()]
    missing += [member.qualname for m in modules for member in m.members if not member.doc.strip()]
    return missing


def documented_names(modules: list[Module]) -> set[str]:
    """The canonical names that get their own entry in the API reference."""
    return {member.canonical for m in modules for member in m.members}


_ROLE = {"class": "class", "function": "func", "data": "data"}


def _title(text: str, underline: str = "=") -> str:
    return f"{text}\n{underline * len(text)}\n"


def _value(obj: object, limit: int = 70) -> str:
    text = " ".join(repr(obj).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def module_page(module: Module) -> str:
    """reStructuredText of one module's page: its docstring and its public names."""
    lines = [_title(f"``{module.name}``"), f".. automodule:: {module.name}", "   :no-members:", ""]
    own = [m for m in module.members if m.canonical == m.qualname]
    elsewhere = [m for m in module.members if m.canonical != m.qualname]
    for kind, heading in (("class", "Classes"), ("function", "Functions")):
        names = [m for m in own if m.kind == kind]
        if not names:
            continue
        lines += [_title(heading, "-"), f".. currentmodule:: {module.name}", "",
                  ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {m.name}" for m in names]
        lines.append("")
    constants = [m for m in own if m.kind == "data"]
    if constants:
        # autodoc reads ``#:`` comments only from the module named in the directive,
        # which for a re-exported constant is not where the comment is: write it out.
        lines += [_title("Constants", "-")]
        for m in constants:
            lines += [f".. py:data:: {m.name}", f"   :module: {module.name}",
                      f"   :value: {_value(m.obj)}", ""]
            lines += [f"   {line}" if line else "" for line in m.doc.splitlines()]
            lines.append("")
    if elsewhere:
        lines += [_title("Also available here", "-"),
                  "These names are documented where they are first exported:", ""]
        lines += [f"- :{_ROLE[m.kind]}:`{m.name} <{m.canonical}>` (:{_ROLE[m.kind]}:`{m.canonical}`)"
                  for m in elsewhere]
        lines.append("")
    if module.submodules:
        lines += [_title("Submodules", "-"), ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {sub}" for sub in module.submodules]
        lines.append("")
    return "\n".join(lines)


def write_pages(outdir: Path, modules: list[Module]) -> list[Path]:
    """Write one page per public module into ``outdir`` (only files whose text changed)."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for module in modules:
        path = outdir / f"{module.name}.rst"
        text = module_page(module)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    # Pages of modules that no longer exist would be orphans (a warning): remove them.
    keep = {p.name for p in written}
    for stale in outdir.glob(f"{ROOT}*.rst"):
        if stale.name not in keep:
            stale.unlink()
    return written


_CITATION_DEF = re.compile(r"^\.\. \[([A-Za-z0-9_.-]+)\]\s")
_CITATION_REF = re.compile(r"\[([A-Za-z0-9_.-]+)\]_")


def citations(lines: list[str]) -> dict[str, list[str]]:
    """The citations ``.. [LABEL] text`` defined in docstring lines, with their continuation lines."""
    found: dict[str, list[str]] = {}
    label = None
    for line in lines:
        match = _CITATION_DEF.match(line)
        if match:
            label = match.group(1)
            found[label] = [line]
        elif label is not None and line.startswith(" ") and line.strip():
            found[label].append(line)
        else:
            label = None
    return found


_BIBLIOGRAPHY: dict[str, list[str]] = {}


def bibliography() -> dict[str, list[str]]:
    """Every citation defined in a grassdyn module docstring (the first definition of a label)."""
    if not _BIBLIOGRAPHY:
        for modname in _all_modules_below(ROOT):
            doc = inspect.getdoc(importlib.import_module(modname)) or ""
            for label, lines in citations(doc.splitlines()).items():
                _BIBLIOGRAPHY.setdefault(label, lines)
    return _BIBLIOGRAPHY


def _add_cited_references(app, what, name, obj, options, lines: list[str]) -> None:
    """Copy into a docstring the module-level references it cites but does not define.

    grassdyn's functions cite ``[YHM94]_`` and the like from their module's
    *References*; numpydoc scopes citations to one docstring, so the function's
    page would otherwise hold a dangling reference. The definition of the
    object's own module comes first, then any grassdyn module's. A label
    defined nowhere is left alone, and Sphinx reports it as a broken citation.
    """
    if what == "module":
        return
    missing = sorted(set(_CITATION_REF.findall("\n".join(lines))) - set(citations(lines)))
    if not missing:
        return
    modname = getattr(obj, "__module__", None) or name.rsplit(".", 1)[0]
    try:
        local = citations((inspect.getdoc(importlib.import_module(modname)) or "").splitlines())
    except ImportError:
        local = {}
    found = [line for label in missing for line in local.get(label, bibliography().get(label, []))]
    if not found:
        return
    for i in range(len(lines) - 1):
        if lines[i].strip() == "References" and set(lines[i + 1].strip()) == {"-"}:
            lines[i + 2 : i + 2] = [*found, ""]
            return
    lines.extend(["", "References", "----------", *found])


def _config_inited(app, config) -> None:
    write_pages(Path(app.srcdir) / "api", walk())


def _resolve_in_module(app, env, node, contnode):
    """Resolve a short grassdyn reference (``:func:`run``` in a module docstring) in its module.

    Sphinx resolves an unqualified name against the current module only in
    some contexts; docstrings write names as their module sees them, so a
    reference that failed is retried as ``<module>.<name>`` for the module the
    docstring belongs to and each of its parent packages, and a qualified name
    under each of its parent packages (where a re-exported name is documented).
    A name found in none of them stays a broken reference (an error under ``-W``).
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    if not module.startswith(ROOT):
        return None
    domain = env.get_domain("py")
    parts, tparts = module.split("."), target.split(".")
    candidates = [".".join(parts[:i]) + "." + target for i in range(len(parts), 0, -1)]
    # a name re-exported by a package is documented once, under the package
    candidates += [".".join(tparts[:i]) + "." + tparts[-1] for i in range(len(tparts) - 1, 0, -1)]
    for full in candidates:
        if full in domain.objects:
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], full, node,
                                       contnode)
    return None


def setup(app):
    # Before Sphinx lists the source files (which autosummary then scans for the
    # names to generate stubs of): at builder-inited a fresh checkout's pages
    # would be written too late to be found.
    app.connect("config-inited", _config_inited)
    # Before numpydoc (priority 500) parses the docstring into sections.
    app.connect("autodoc-process-docstring", _add_cited_references, priority=100)
    app.connect("missing-reference", _resolve_in_module)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

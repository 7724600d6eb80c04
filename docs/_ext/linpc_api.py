"""Sphinx helpers for linpc's API reference: one page per module, every object documented once.

linpc re-exports each public name several times (``linpc.core.energy.energy`` is also
``linpc.core.energy`` — the star import replaces the module attribute by the function — and, when
curated, ``linpc.energy``). Autosummary's recursive mode imports by name and would mistake such
modules for functions, and documenting the re-exports would describe every object two or three
times. So:

* :func:`write_api_pages` (called from ``conf.py`` before Sphinx scans the sources) writes one
  page per package and per module into ``docs/api/generated/``. A module page holds the module
  docstring, its constants (``autodata``) and autosummary tables of its functions, classes and
  exceptions with ``:toctree:``, so autosummary generates one page per object at its *defining*
  module. Files that no longer correspond to a module or object are removed; unchanged pages are
  not rewritten (incremental builds stay incremental).
* The directive ``.. linpc-namespace:: PACKAGE`` renders the names a package re-exports (its
  ``__all__``) as a table linking to their defining pages; ``.. linpc-modules:: PACKAGE`` renders
  its modules with their one-line summaries and a hidden toctree of their pages; with
  ``:optional:`` both render nothing when the package does not exist.
* A ``missing-reference`` handler resolves references to re-exported names (``linpc.energy``,
  ``linpc.core.solve_equilibrium``, ``linpc.ActivityHessian.condition_number``) to the object's
  defining page, so docstrings may cite objects by their public names.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import pkgutil
import types
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

#: Packages and top-level modules documented, in the order of the API reference.
API_ROOTS = (
    "linpc", "linpc.core", "linpc.landscape", "linpc.trust_region", "linpc.mupc",
    "linpc.dynamics", "linpc.data", "linpc.numerics", "linpc.jpc", "linpc.verify",
    "linpc.reproduce", "linpc.testing", "linpc.cli",
)
#: Modules that are not documented (private, or executing on import).
SKIP = {"linpc._version", "linpc.__main__"}
#: Longest value representation shown next to a constant; longer ones are left out.
MAX_VALUE_REPR = 80


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _is_package(module: types.ModuleType) -> bool:
    return hasattr(module, "__path__")


def submodules(package: str) -> list[str]:
    """Documented modules of a package: its ``MODULES`` order first, then the others by name."""
    pkg = importlib.import_module(package)
    if not _is_package(pkg):
        return []
    found = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    order = [m for m in getattr(pkg, "MODULES", ()) if m in found]
    names = order + [m for m in found if m not in order]
    return [f"{package}.{m}" for m in names if f"{package}.{m}" not in SKIP]


def leaf_modules() -> list[str]:
    """Every documented module (not package) of linpc."""
    out = []
    for root in API_ROOTS:
        if not _exists(root):
            continue
        mod = importlib.import_module(root)
        if _is_package(mod):
            out += [m for m in submodules(root) if not _is_package(importlib.import_module(m))]
        elif root not in SKIP:
            out.append(root)
    return list(dict.fromkeys(out))


def _assigned_names(module: types.ModuleType) -> set[str]:
    """Names bound at module level by an assignment, ``def`` or ``class`` in the module source."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def module_members(module_name: str) -> dict[str, list[str]]:
    """Public objects defined in a module, by kind (``__all__`` if present, else public names)."""
    mod = importlib.import_module(module_name)
    names = list(getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")]))
    assigned = _assigned_names(mod)
    kinds: dict[str, list[str]] = {"data": [], "function": [], "class": [], "exception": []}
    for name in names:
        obj = getattr(mod, name)
        if inspect.ismodule(obj):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if obj.__module__ != module_name:
                continue                   # imported from elsewhere: documented there
            kind = ("exception" if inspect.isclass(obj) and issubclass(obj, BaseException)
                    else "class" if inspect.isclass(obj) else "function")
            kinds[kind].append(name)
        elif name in assigned:
            kinds["data"].append(name)
    return kinds


@functools.cache
def defining_map() -> dict[str, str]:
    """Full name (``module.name``) of every documented object by its public name (first module
    that defines it, in the order of :data:`API_ROOTS`)."""
    out: dict[str, str] = {}
    for m in leaf_modules():
        for names in module_members(m).values():
            for n in names:
                out.setdefault(n, f"{m}.{n}")
    return out


def canonical_name(namespace: str, name: str) -> str | None:
    """Full name at the defining module of ``namespace.name`` (a module: its own name)."""
    obj = getattr(importlib.import_module(namespace), name)
    if inspect.ismodule(obj):
        return obj.__name__
    if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith("linpc"):
        return f"{obj.__module__}.{obj.__qualname__}"
    full = defining_map().get(name)
    if full is not None:
        mod = importlib.import_module(full.rsplit(".", 1)[0])
        if getattr(mod, name, None) is obj:
            return full
    return None


def _summary(doc: str | None) -> str:
    """First paragraph of a docstring, on one line."""
    first = (inspect.cleandoc(doc or "").split("\n\n") or [""])[0]
    return " ".join(first.split())


def _title(text: str) -> list[str]:
    return [text, "=" * len(text), ""]


def _data_lines(module_name: str, names: list[str]) -> list[str]:
    mod = importlib.import_module(module_name)
    lines = [".. rubric:: Constants", ""]
    for n in names:
        obj = getattr(mod, n)
        if isinstance(obj, types.GenericAlias):
            # a type alias such as NDArray[np.float64]: autodoc cannot format its signature, so
            # the entry is written out, with the documentation of its ``#:`` comment
            from sphinx.pycode import ModuleAnalyzer

            doc = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", n), [])
            lines += [f".. py:data:: {module_name}.{n}", f"   :value: {obj!r}", ""]
            lines += [f"   {line}" for line in doc]
            lines.append("")
            continue
        lines.append(f".. autodata:: {module_name}.{n}")
        if len(repr(obj)) > MAX_VALUE_REPR:
            lines.append("   :no-value:")
        lines.append("")
    return lines


def module_page(module_name: str) -> tuple[str, list[str]]:
    """RST of one module page and the full names of the objects that get a page of their own."""
    members = module_members(module_name)
    lines = [*_title(module_name), f".. automodule:: {module_name}", ""]
    objects: list[str] = []
    for kind, heading in (("function", "Functions"), ("class", "Classes"),
                          ("exception", "Exceptions")):
        if members[kind]:
            lines += [f".. rubric:: {heading}", "", ".. autosummary::", "   :toctree: .", ""]
            for n in members[kind]:
                lines.append(f"   {n}")         # relative to the automodule's module
                objects.append(f"{module_name}.{n}")
            lines.append("")
    if members["data"]:
        lines += _data_lines(module_name, members["data"])
    return "\n".join(lines).rstrip() + "\n", objects


def package_page(package: str) -> str:
    """RST of a package page: docstring, modules, and the names the package re-exports."""
    top = package == "linpc"                 # its subpackages are in the API index's toctree
    lines = [*_title(package), f".. automodule:: {package}", "", ".. rubric:: Modules", "",
             f".. linpc-modules:: {package}", *([] if top else ["   :toctree:"]), ""]
    if getattr(importlib.import_module(package), "__all__", None):
        lines += [".. rubric:: Names re-exported by the package", "",
                  f"Each is documented once, at its defining module; ``{package}.<name>`` is the "
                  "same object.", "", f".. linpc-namespace:: {package}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_api_pages(outdir: Path) -> None:
    """Write the package and module pages into ``outdir`` and remove stale generated files."""
    outdir.mkdir(parents=True, exist_ok=True)
    pages: dict[str, str] = {}
    keep: set[str] = set()
    for root in API_ROOTS:
        if not _exists(root):
            continue
        mod = importlib.import_module(root)
        if _is_package(mod):
            pages[root] = package_page(root)
            mods = submodules(root)
        else:
            mods = [root]
        for m in mods:
            if _is_package(importlib.import_module(m)):
                continue           # subpackages have their own root entry
            text, objects = module_page(m)
            pages[m] = text
            keep.update(objects)
    keep.update(pages)
    for path in outdir.glob("*.rst"):
        if path.stem not in keep:
            path.unlink()
    for name, text in pages.items():
        path = outdir / f"{name}.rst"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


class _LinpcDirective(SphinxDirective):
    required_arguments = 1
    option_spec: ClassVar[dict] = {"optional": directives.flag}

    def _render(self, lines: list[str], *, absolute: bool = False) -> list[nodes.Node]:
        """Parse generated RST; ``absolute``: full names, so no current module applies."""
        container = nodes.container()
        saved = self.env.ref_context.pop("py:module", None) if absolute else None
        try:
            self.state.nested_parse(StringList(lines, source="linpc_api"), self.content_offset,
                                    container)
        finally:
            if saved is not None:
                self.env.ref_context["py:module"] = saved
        return container.children

    def _missing(self) -> bool:
        if _exists(self.arguments[0]):
            return False
        if "optional" in self.options:
            return True
        raise self.error(f"no module {self.arguments[0]!r}")


class NamespaceDirective(_LinpcDirective):
    """A table of the names in a package's ``__all__``, linked to their defining pages."""

    def run(self) -> list[nodes.Node]:
        if self._missing():
            return []
        package = self.arguments[0]
        entries = []
        for name in importlib.import_module(package).__all__:
            if name.startswith("__"):
                continue                   # __version__
            if isinstance(getattr(importlib.import_module(package), name), types.GenericAlias):
                continue                   # a type alias (Array): autosummary cannot render it
            full = canonical_name(package, name)
            if full is None:
                raise self.error(f"{package}.{name}: defining module not found")
            entries.append(f"   ~{full}")
        return self._render([".. autosummary::", "", *entries, ""], absolute=True)


class ModulesDirective(_LinpcDirective):
    """The modules of a package (or the module itself) with one-line summaries; with
    ``:toctree:`` also a hidden toctree (on a package page: of the module pages; elsewhere: of the
    package's or module's own page)."""

    option_spec: ClassVar[dict] = {"optional": directives.flag, "toctree": directives.flag}

    def run(self) -> list[nodes.Node]:
        if self._missing():
            return []
        name = self.arguments[0]
        mod = importlib.import_module(name)
        here = Path(self.env.docname).parent
        generated = Path("api/generated")
        rel = Path(*[".."] * len(here.parts)) / generated if here != generated else Path()
        mods = submodules(name) if _is_package(mod) else [name]
        lines = [".. list-table::", "   :widths: 30 70", ""]
        for m in mods:
            summary = _summary(importlib.import_module(m).__doc__) or " "
            lines += [f"   * - :mod:`{m}`", f"     - {summary}"]
        if "toctree" in self.options:
            if here == generated:         # a package page: the pages of its modules
                entries = [m for m in mods if not _is_package(importlib.import_module(m))]
            else:                         # the API index: the package's (or module's) own page
                entries = [str(rel / name)]
            lines += ["", ".. toctree::", "   :hidden:", "", *[f"   {e}" for e in entries]]
        return self._render([*lines, ""])


@functools.cache
def _unique_definitions() -> dict[str, str]:
    """Public names defined in exactly one linpc module, with their full names."""
    seen: dict[str, list[str]] = {}
    for m in leaf_modules():
        for names in module_members(m).values():
            for n in names:
                seen.setdefault(n, []).append(f"{m}.{n}")
    return {n: fulls[0] for n, fulls in seen.items() if len(fulls) == 1}


def _resolve_reexport(app, env, node, contnode):
    """``missing-reference``: a re-exported name resolves to its defining object.

    ``linpc.<path>`` is resolved through the import system; a bare name (``LinearPCN.forward``,
    written in a docstring of a module that imports it, or in a summary shown on another page) is
    resolved when exactly one linpc module defines it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("linpc."):
        head, _, rest = target.partition(".")
        full = _unique_definitions().get(head)
        if full is None:
            return None
        return env.get_domain("py").resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], ".".join(filter(None, [full, rest])),
            node, contnode)
    parts = target.split(".")
    # longest importable module prefix, then attributes
    for i in range(len(parts) - 1, 0, -1):
        modname = ".".join(parts[:i])
        try:
            importlib.import_module(modname)
        except ImportError:
            continue
        try:
            full = canonical_name(modname, parts[i])
        except AttributeError:
            return None
        if full is None or full == target:
            return None
        new_target = ".".join([full, *parts[i + 1:]])
        domain = env.get_domain("py")
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new_target,
                                   node, contnode)
    return None


def setup(app):
    app.add_directive("linpc-namespace", NamespaceDirective)
    app.add_directive("linpc-modules", ModulesDirective)
    app.connect("missing-reference", _resolve_reexport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The shape of the package: layers import only downward, the API is curated, citations resolve.

The import graph is read from the source with :mod:`ast` (module-level and function-level
imports alike), so a lazy import inside a function cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import linpc

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "linpc"

#: The layers of linpc, lowest first. A module may import a module of a lower layer, or a module of
#: its own subpackage as long as the subpackage's import graph stays acyclic ("downward" inside it).
LAYERS = ("_version", "numerics", "data", "core", "landscape", "trust_region", "mupc", "dynamics",
          "jpc", "verify", "testing", "reproduce", "cli", "__main__")
SCIENCE = ("numerics", "data", "core", "landscape", "trust_region", "mupc", "dynamics")

#: Names that the issue tracker calls stable: jpc's names and the trust-region solver.
STABLE = ("linear_equilib_energy", "compute_linear_equilib_rescaling",
          "compute_linear_activity_hessian", "compute_linear_activity_solution",
          "compute_linear_equilib_energy_grads", "equilib_energy_hessian", "mse_loss_hessian",
          "activity_hessian_extreme_eigenvalues", "activity_hessian_condition_number",
          "solve_trust_region_subproblem")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every ``linpc.*`` module imported anywhere in ``path`` (``from linpc.x import y`` counts
    ``linpc.x.y`` when that is a module, else ``linpc.x``)."""
    mods = _modules()
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "linpc")
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; linpc uses absolute imports"
            if node.module and node.module.split(".")[0] == "linpc":
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    out.add(full if full in mods else node.module)
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_top_level_holds_at_most_twelve_modules():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= 12, top


def test_every_module_imports_only_downward():
    mods = _modules()
    rank = {name: i for i, name in enumerate(LAYERS)}
    bad = []
    internal: dict[str, set[str]] = {}
    for name, path in mods.items():
        layer = _layer(name)
        if layer == "__init__":
            continue                       # the curated API re-exports from every layer
        for imp in _imports(path):
            other = _layer(imp)
            if other == "__init__":
                bad.append(f"{name} imports the top-level package (an upward import)")
            elif other == layer:
                if imp != name and imp != f"linpc.{layer}":
                    internal.setdefault(name, set()).add(imp)
            elif rank[other] > rank[layer]:
                bad.append(f"{name} ({layer}) imports {imp} ({other}), a higher layer")
    assert not bad, "\n".join(bad)
    # inside each subpackage the import graph is acyclic: an order exists in which every module
    # imports only modules before it
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        if state.get(m) == 2:
            return
        assert state.get(m) != 1, "import cycle: " + " → ".join([*stack, m])
        state[m] = 1
        for dep in internal.get(m, ()):
            if dep in mods:
                visit(dep, [*stack, m])
        state[m] = 2

    for m in internal:
        visit(m, [])


def test_science_never_imports_the_tools():
    for name, path in _modules().items():
        if _layer(name) in SCIENCE:
            tools = {i for i in _imports(path) if _layer(i) in ("verify", "reproduce", "jpc",
                                                                "testing", "cli")}
            assert not tools, f"{name} imports {sorted(tools)}"


def test_every_subpackage_says_what_theory_it_holds():
    for init in PKG.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 200, f"{init} needs a docstring naming its theory and papers"


def test_curated_namespace():
    assert len(linpc.__all__) <= 90
    missing = [n for n in STABLE if n not in linpc.__all__]
    assert not missing, missing
    for name in linpc.__all__:
        assert hasattr(linpc, name), name
    # every subpackage re-exports exactly its modules' public names
    for init in PKG.glob("*/__init__.py"):
        sub = __import__(f"linpc.{init.parent.name}", fromlist=["__all__"])
        for name in sub.__all__:
            assert hasattr(sub, name), f"linpc.{init.parent.name}.{name}"


def _theory_labels() -> set[str]:
    text = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")
    heads = re.findall(r"^#{1,4} (\d+(?:\.\d+)*)\.? ", text, flags=re.M)
    items = re.findall(r"\*\*(\d+(?:\.\d+)+)\*\*", text)
    assert len(items) == len(set(items)), "a numbered item is defined twice"
    return set(heads) | set(items)


#: ``docs/theory.md §2.5.1``, ``§3.1–3.2``, ``§1.3, §2.2``, possibly wrapped over lines.
_NUM = r"\d+(?:\.\d+)*"
CITATION = re.compile(rf"docs/theory\.md[\s#*]*((?:,?[\s#*]*(?:and[\s#*]+)?§\s?{_NUM}"
                      rf"(?:\s?[–-]\s?{_NUM})?)+)")


def _citations() -> list[tuple[str, str]]:
    files = [p for d in ("linpc", "tests", "figures", "proofs", "scripts", "benchmarks", "docs")
             for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md", ".rst")]
    files.append(ROOT / "README.md")
    out = []
    for f in files:
        if f.name == "theory.md":
            continue
        for m in CITATION.finditer(f.read_text(encoding="utf-8")):
            for num in re.findall(_NUM, m.group(1)):
                out.append((str(f.relative_to(ROOT)), num))
    return out


def test_every_theory_citation_resolves():
    labels = _theory_labels()
    cites = _citations()
    assert len(cites) > 200                    # the pattern finds the citations
    bad = sorted({f"{f}: §{n}" for f, n in cites if n not in labels})
    assert not bad, "citations of docs/theory.md that point nowhere:\n" + "\n".join(bad)


def test_no_citation_of_files_outside_the_repository():
    for d in ("linpc", "tests", "figures", "proofs", "scripts", "benchmarks"):
        for f in (ROOT / d).rglob("*.py"):
            if f.name == "test_architecture.py":
                continue
            text = f.read_text(encoding="utf-8")
            assert not re.search(r"(?<!docs/)\btheory\.md", text), f"{f}: cite docs/theory.md"
            assert "architecture.md" not in text and "style.md" not in text, f


@pytest.mark.parametrize("module", sorted(n for n in _modules() if n != "linpc.__main__"))
def test_module_has_a_docstring(module):
    doc = ast.get_docstring(ast.parse(_modules()[module].read_text(encoding="utf-8")))
    assert doc, f"{module} has no docstring"

"""The engine's import contract, read from the source (no module is imported):

1. no cycle among the engine's modules, function-level imports included (an import inside a
   function is still an arrow: it only hides a loop until the function runs);
2. the validation layer (what an experiment is and how it is read and checked) imports nothing
   of the training layer, directly or through anything it imports: parsing and checks never
   build a model, and the trial step (:mod:`engine.trial`) is a separate call;
3. the modules the window reads files and lists presets with before torch has loaded import
   neither torch nor numpy when they are imported (their function-level imports may).

That the engine imports no Qt or pyqtgraph is ``tests/test_engine_is_qt_free.py``'s (every
import statement of engine/, and a run that loads none of them).

Imports under ``if TYPE_CHECKING:`` count too (they never run, but they are arrows between the
layers all the same: ``engine.checkpoint`` names the session's types so, and the session does
not import it). A submodule's import of its own package's ``__init__`` is not drawn (Python
runs the package first, whatever imports it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

# What an experiment is and how it is read and checked, without training. presets.py and
# resources.py belong here too: listing the presets and finding the data files need no
# training code (``lrlab presets`` and the window's Examples list them before torch is
# used), and they read files as files.py does. status.py is the two state machines' names,
# below everything that uses them.
VALIDATION = {
    "engine", "engine.errors", "engine.fieldtypes", "engine.expressions", "engine.fields", "engine.config",
    "engine.registry", "engine.parse", "engine.crosscheck", "engine.files", "engine.scheduling",
    "engine.status", "engine.presets", "engine.resources",
}
# How it trains, with torch, and what drives it. snapshot.py (plain data copied from a run),
# edit_effect.py (what an edit did, from predictions) and torch_setup.py are training's.
TRAINING = {
    "engine.run", "engine.session", "engine.trial", "engine.commands", "engine.model", "engine.optimizers",
    "engine.schedulers", "engine.recorder", "engine.preview", "engine.checkpoint", "engine.results",
    "engine.worker", "engine.cli", "engine.snapshot", "engine.edit_effect", "engine.torch_setup",
}
# Imported before torch has loaded: reading an experiment file (the window refuses a bad one at
# once), listing presets, the states' names.
TORCH_FREE = {"engine.files", "engine.presets", "engine.resources", "engine.status", "engine.errors",
              "engine.config"}
HEAVY = {"torch", "numpy"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _imports(tree: ast.AST, top_level_only: bool):
    """Every Import/ImportFrom node (with ``top_level_only``, not those in functions: what
    importing the module runs, ``if TYPE_CHECKING:`` blocks aside)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if top_level_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules an import statement names (engine's and others', by their full names)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    # ``from .registry import spec`` imports the submodule engine.registry.spec
    return {name} | {f"{name}.{alias.name}" for alias in node.names if f"{name}.{alias.name}" in known}


def import_graph(top_level_only: bool = False) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(engine arrows, other top-level packages imported)`` per engine module."""
    sources = _sources()
    known = set(sources)
    arrows: dict[str, set[str]] = {}
    others: dict[str, set[str]] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names: set[str] = set()
        for node in _imports(tree, top_level_only):
            names |= _targets(node, module, path.name == "__init__.py", known)
        package_chain = {module.rsplit(".", k)[0] for k in range(1, module.count(".") + 1)}
        arrows[module] = {n for n in names if n in known and n != module and n not in package_chain}
        unknown_engine = {n for n in names if n.split(".")[0] == "engine" and n not in known}
        # ``from .config import X`` of a name that is not a module: the arrow is to the module itself
        arrows[module] |= {n.rpartition(".")[0] for n in unknown_engine if n.rpartition(".")[0] in known} - {module}
        others[module] = {n.split(".")[0] for n in names if n.split(".")[0] != "engine"}
    return arrows, others


def _path(arrows: dict[str, set[str]], start: str, goal) -> list[str] | None:
    """The shortest import chain from ``start`` to a module ``goal`` accepts (breadth first)."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        here = queue.pop(0)
        for there in sorted(arrows.get(here, ())):
            if there in previous:
                continue
            previous[there] = here
            if goal(there):
                chain = [there]
                while previous[chain[-1]] is not None:
                    chain.append(previous[chain[-1]])
                return chain[::-1]
            queue.append(there)
    return None


def _cycles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import each other (a strongly connected
    component of more than one module, or a module importing itself)."""
    found, placed = [], set()
    for module in sorted(arrows):
        if module in placed:
            continue
        reach = _reachable(arrows, module) | {module}
        component = {m for m in reach if module in _reachable(arrows, m)}
        if not component:
            continue
        placed |= component
        first = min(component & arrows[module])
        back = [module] if first == module else _path(arrows, first, lambda m, start=module: m == start)
        found.append([module, *back])
    return found


def test_the_layers_name_real_modules():
    modules = set(_sources())
    assert VALIDATION <= modules, sorted(VALIDATION - modules)
    assert TRAINING <= modules, sorted(TRAINING - modules)
    assert TORCH_FREE <= VALIDATION
    assert not VALIDATION & TRAINING


def test_the_graph_sees_function_level_imports():
    """A check of the checker: engine.cli imports the session only inside a function."""
    arrows, _ = import_graph()
    top, _ = import_graph(top_level_only=True)
    assert "engine.session" in arrows["engine.cli"] and "engine.session" not in top["engine.cli"]
    assert "engine.registry.spec" in arrows["engine.registry"]
    assert "engine.session" in arrows["engine.checkpoint"]  # under TYPE_CHECKING


def test_no_import_cycle_in_the_engine():
    arrows, _ = import_graph()
    cycles = _cycles(arrows)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_validation_imports_no_training_code():
    arrows, _ = import_graph()
    validation = VALIDATION | {m for m in arrows if m.startswith("engine.registry.")}
    problems = []
    for module in sorted(validation):
        chain = _path(arrows, module, lambda m: m not in validation)
        if chain is not None:
            layer = "training" if chain[-1] in TRAINING else "no validation"
            problems.append(" -> ".join(chain) + f" ({chain[-1]} is {layer} code)")
    assert not problems, "the validation layer reaches beyond itself:\n" + "\n".join(problems)


def test_reading_files_and_listing_presets_load_no_torch():
    arrows, others = import_graph(top_level_only=True)
    problems = []
    for module in sorted(TORCH_FREE):
        for reached in [module, *(_reachable(arrows, module))]:
            heavy = others[reached] & HEAVY
            if heavy:
                chain = _path(arrows, module, lambda m, r=reached: m == r) or [module]
                problems.append(" -> ".join(chain) + f" imports {', '.join(sorted(heavy))} when imported")
    assert not problems, "\n".join(problems)


def _reachable(arrows: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for there in arrows.get(stack.pop(), ()):
            if there not in seen:
                seen.add(there)
                stack.append(there)
    seen.discard(start)
    return seen

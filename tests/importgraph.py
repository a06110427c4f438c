"""Static import graph of src/sentinel: module-level imports only (imports inside functions are lazy).

Used by the layering tests and by the DVC stage-deps test: both need "what does this module pull in
when it is imported", computed without importing anything.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_files() -> dict[str, Path]:
    out = {}
    for f in sorted((SRC / "sentinel").rglob("*.py")):
        if "__pycache__" in f.parts:
            continue
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _resolve(name: str, level: int, current: str, is_pkg: bool) -> str:
    if level == 0:
        return name
    base = current.split(".") if is_pkg else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _toplevel_nodes(tree: ast.Module, lazy: bool):
    """Import nodes executed at import time (module body, class bodies, if/try at top level)."""
    if lazy:
        yield from (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        return
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            stack += node.body


@lru_cache(maxsize=None)
def imports(module: str, lazy: bool = False) -> tuple[frozenset[str], frozenset[str]]:
    """(sentinel modules, third-party top-level packages) that `module` imports."""
    files = module_files()
    path = files[module]
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    internal, external = set(), set()
    for node in _toplevel_nodes(tree, lazy):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = _resolve(node.module or "", node.level, module, is_pkg)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
        for t in targets:
            if t.split(".")[0] != "sentinel":
                external.add(t.split(".")[0])
                continue
            while t and t not in files:
                t = t.rpartition(".")[0]
            parts = t.split(".")
            own_packages = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
            for i in range(1, len(parts)):  # importing a.b.c runs a/__init__ and a/b/__init__ too,
                pre = ".".join(parts[:i])   # which is implied (not an edge) for the module's own packages
                if pre in files and pre not in own_packages:
                    internal.add(pre)
            if t != module:
                internal.add(t)
    return frozenset(internal), frozenset(external)


def closure(module: str, lazy: bool = False) -> set[str]:
    """Every sentinel module imported (transitively) when `module` is imported (or run, if lazy)."""
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += imports(m, lazy)[0]
    return seen


def external_closure(module: str) -> set[str]:
    return set().union(*(imports(m)[1] for m in closure(module)))


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan) over import-time edges."""
    graph = {m: sorted(imports(m)[0]) for m in module_files()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out

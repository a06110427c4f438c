"""Every module a DVC stage imports is one of its deps, so editing it re-runs the stage that uses it.

A stage script calls `sentinel.cli.stage("<name>")`, which imports `cli.STAGES[<name>]` by name (the
static graph cannot see that), so the stage's code is the lazy closure of that module (every import
anywhere in it, transitively, plus the packages whose __init__ runs on the way) together with the
import-time closure of what the script itself imports (sentinel.cli: its other subcommands' lazy
imports never run in a stage). A dep covers a module when it is the module's file or a folder above it.
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import yaml

import importgraph
from sentinel.cli import STAGES

ROOT = Path(__file__).resolve().parents[2]


def _stage_defs(dvc_yaml: dict) -> dict[str, dict]:
    return {name: (s["do"] if "foreach" in s else s) for name, s in dvc_yaml["stages"].items()}


def _script(stage: dict) -> Path:
    words = stage["cmd"].split()
    return ROOT / next(w for w in words if w.startswith("stages/") and w.endswith(".py"))


def _entry_modules(script: Path) -> tuple[set[str], set[str]]:
    """(what the script imports, the stage module of each `stage("<name>")` it calls)."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imported, stages = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sentinel"):
            imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names if a.name.startswith("sentinel")}
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "stage" and node.args:
            stages.add(STAGES[node.args[0].value])
    files = importgraph.module_files()
    return {m for m in imported if m in files}, stages


def stage_closure(module: str) -> set[str]:
    """importgraph.closure(module, lazy=True), except that sentinel.cli contributes only its
    import-time edges: modules reach it from `if __name__ == "__main__"` blocks, and its lazy imports
    are other subcommands (compose, plan, ...) that never run inside a stage."""
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += importgraph.imports(m, lazy=m != "sentinel.cli")[0]
    return seen


def required_files(script: Path) -> set[Path]:
    files = importgraph.module_files()
    imported, stages = _entry_modules(script)
    modules = set().union(*(importgraph.closure(m) for m in imported), *(stage_closure(m) for m in stages))
    with_packages = {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 2)}
    return {files[m] for m in with_packages if m in files}


def missing_deps(dvc_yaml: dict) -> dict[str, list[str]]:
    """Per stage: module files under src/ that no dep (file or folder above it) covers."""
    out = {}
    for name, stage in _stage_defs(dvc_yaml).items():
        deps = [ROOT / d for d in stage.get("deps", []) if "${" not in str(d)]
        lacking = sorted(str(f.relative_to(ROOT)) for f in required_files(_script(stage))
                         if not any(d == f or d in f.parents for d in deps))
        if lacking:
            out[name] = lacking
    return out


def _dvc_yaml() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def test_every_stage_declares_every_module_it_imports():
    assert missing_deps(_dvc_yaml()) == {}


def test_every_stage_script_is_a_dep_of_its_stage():
    for name, stage in _stage_defs(_dvc_yaml()).items():
        assert str(_script(stage).relative_to(ROOT)) in stage["deps"], name


def test_removing_a_dep_is_caught_on_a_copy():
    """The test can fail: drop config.py from generate's deps, and the models folder from latency's."""
    data = copy.deepcopy(_dvc_yaml())
    gen, lat = data["stages"]["generate"]["do"], data["stages"]["latency"]["do"]
    gen["deps"].remove("src/sentinel/config.py")
    lat["deps"].remove("src/sentinel/models")
    missing = missing_deps(data)
    assert missing["generate"] == ["src/sentinel/config.py"]
    assert "src/sentinel/models/loader.py" in missing["latency"]
    assert set(missing) == {"generate", "latency"}


def test_the_closure_sees_the_stage_module_behind_cli_stage():
    """stages/generate.py imports only sentinel.cli; its closure must still hold the generate code."""
    files = {str(p.relative_to(ROOT)) for p in required_files(ROOT / "stages/generate.py")}
    assert {"src/sentinel/generate.py", "src/sentinel/executors/store.py", "src/sentinel/config.py",
            "src/sentinel/__init__.py"} <= files

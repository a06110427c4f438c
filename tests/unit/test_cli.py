"""One `sentinel` console script: its subcommands, its error policy, its log format, and the docs that use it."""
from __future__ import annotations

import ast
import importlib.util
import logging
import re
import tomllib
from pathlib import Path

import pytest

from sentinel import cli, console
from sentinel.errors import ConfigError, ExecutorError, ReleaseError, SentinelError, WeightsError, WorkloadError

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("weights",)  # imports torch at import time: its --help is checked in tests/test_console_script.py


def test_pyproject_declares_the_console_script():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"sentinel": "sentinel.cli:main"}


def test_help_lists_every_subcommand(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("compose", "plan", "data", "workload", "weights", "fetch", "rate", "release", "stage", "video-workload", "tryon-data"):
        assert re.search(rf"^\s+{name}\s+\S", out, re.M), f"{name} missing from `sentinel --help`:\n{out}"
    assert set(cli.COMMANDS) == {"compose", "plan", "data", "workload", "weights", "fetch", "rate", "release", "stage", "video-workload", "tryon-data"}


@pytest.mark.parametrize("command", [c for c in cli.COMMANDS if c not in HEAVY])
def test_each_subcommand_help_exits_0(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: sentinel {command} ")


def test_unknown_command_is_refused_listing_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["genrate"])
    assert e.value.code == 2 and "unknown command 'genrate' (valid: compose, plan" in capsys.readouterr().err


def test_every_stage_maps_to_a_module_with_run():
    """The stage table names real modules (cost and report live in packages now), each defining run()."""
    for name, module in cli.STAGES.items():
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, f"stage {name}: no module {module}"
        tree = ast.parse(Path(spec.origin).read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body), f"{module} has no run()"


def test_unknown_stage_exits_2_naming_the_valid_stages(capsys):
    with pytest.raises(SystemExit) as e:
        cli.stage("scroe")
    assert e.value.code == 2
    assert "sentinel scroe: error: unknown stage 'scroe' (valid: " in capsys.readouterr().err


def test_user_errors_are_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("SENTINEL_DEBUG", raising=False)
    for error in (ConfigError("cost.utilisation: must be in (0, 1]"), WorkloadError("w.csv:3: bad"),
                  ExecutorError("tiny-sd: 2 jobs lost"), ReleaseError("no such release"),
                  WeightsError("x.pt: sha256 differs"), FileNotFoundError("weights/x.pt: not found")):
        def fail(error=error):
            raise error
        assert console.guarded("score", fail) == 2
        err = capsys.readouterr().err
        assert err == f"sentinel score: error: {error}\n"


def test_every_project_error_is_a_sentinel_error_and_keeps_its_builtin_base():
    assert all(issubclass(c, SentinelError) for c in (ConfigError, WorkloadError, ExecutorError, ReleaseError,
                                                        WeightsError))
    assert issubclass(ConfigError, ValueError) and issubclass(WorkloadError, ValueError)
    assert issubclass(ExecutorError, RuntimeError) and issubclass(ReleaseError, RuntimeError)
    from sentinel.config import ConfigError as from_config
    from sentinel.workloads.jobs import WorkloadError as from_jobs

    assert from_config is ConfigError and from_jobs is WorkloadError


def test_unexpected_errors_are_not_dressed_as_user_errors(capsys, monkeypatch):
    """A RuntimeError from torch is not a config error: exit 1, its type named, and how to see the traceback."""
    monkeypatch.delenv("SENTINEL_DEBUG", raising=False)

    def oom():
        raise RuntimeError("CUDA error: out of memory")
    assert console.guarded("generate", oom) == 1
    err = capsys.readouterr().err
    assert err.startswith("sentinel generate: failed: RuntimeError: CUDA error: out of memory\n")
    assert "SENTINEL_DEBUG=1" in err and "error: CUDA" not in err


def test_sentinel_debug_re_raises_with_the_traceback(monkeypatch):
    monkeypatch.setenv("SENTINEL_DEBUG", "1")

    def fail():
        raise ConfigError("score.ci_level: must be in (0, 1)")
    with pytest.raises(ConfigError, match="score.ci_level"):
        console.guarded("plan", fail)
    with pytest.raises(ZeroDivisionError):
        console.guarded("plan", lambda: 1 / 0)


def test_one_log_format_on_stderr_configured_once(capsys):
    console.configure_logging()
    console.configure_logging()  # idempotent: still one handler
    logger = logging.getLogger("sentinel.workloads.photos")
    logger.info("wrote %d reference photos", 48)
    logger.debug("not shown at INFO")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "INFO sentinel.workloads.photos: wrote 48 reference photos\n"
    assert sum(isinstance(h, console._StderrHandler) for h in logging.getLogger("sentinel").handlers) == 1


def test_status_is_logged_not_printed():
    """print() in src/ only where the output is the command's product (rater links, verdicts, plans)."""
    allowed = {"cli.py", "console.py", "compose.py", "workloads/__main__.py", "workloads/photos.py",
               "metrics/fetch.py", "metrics/weights.py", "human/app/__main__.py", "release/__main__.py", "cost/planner.py",
               "latency/server.py", "latency/watchdog.py", "smoke_weights.py", "tryon/smoke_set.py",
               "video/workload_gen.py"}  # weights/data commands print what they wrote; server: READY line; watchdog: its usage line
    offenders = []
    for f in sorted((ROOT / "src" / "sentinel").rglob("*.py")):
        rel = f.relative_to(ROOT / "src" / "sentinel").as_posix()
        calls = [n for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == "print"]
        if calls and rel not in allowed:
            offenders.append(rel)
    assert offenders == [], f"use logging.getLogger(__name__) for status in: {offenders}"


def test_readme_and_contributing_use_the_console_script():
    for doc in ("README.md", "CONTRIBUTING.md", "releases/README.md", *sorted(
            str(p.relative_to(ROOT)) for p in (ROOT / "workloads").glob("*.md"))):
        text = (ROOT / doc).read_text()
        assert not re.search(r"python3?\s+-m\s+sentinel", text), f"{doc}: say `sentinel <command>`, not python -m"


def test_nothing_published_points_outside_the_repository():
    """Readers of releases and reports have only the repository, not the folder beside it."""
    places = ["src", "conf", "rubrics", "docs", "workloads", "README.md", "CONTRIBUTING.md", "releases/README.md"]
    bad = []
    for place in places:
        path = ROOT / place
        for f in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            if f.suffix in (".py", ".md", ".yaml", ".yml", ".txt", ".html", ".json") and "__pycache__" not in f.parts:
                text = f.read_text(errors="replace")
                if "shared/" in text or "PITFALLS" in text:
                    bad.append(str(f.relative_to(ROOT)))
    assert bad == []


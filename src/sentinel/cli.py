"""`sentinel`: the one command line. Each subcommand delegates to the `main(argv)` of the module that does it.

    sentinel --help                      # the subcommands
    sentinel <command> --help            # that command's options
    sentinel stage score                 # one DVC stage, as stages/score.py runs it

Errors a user can fix (`sentinel.errors.SentinelError`, a missing file) print one line,
`sentinel <command>: error: <what and where>`, and exit 2. Anything else prints its type and message
and exits 1; `SENTINEL_DEBUG=1` re-raises it with the traceback (sentinel.console).
Status goes through `logging` (one format, on stderr: sentinel.console); stdout carries only what a
command produces (a plan, a verdict, rater links), so it can be piped.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from sentinel.console import configure_logging, guarded  # noqa: F401 (configure_logging: re-exported)
from sentinel.errors import SentinelError

# command -> ("module:function" taking (argv, prog) and returning an exit code, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compose": ("sentinel.compose:main", "compose conf/ into params.yaml (Hydra overrides, as `dvc exp run -S`)"),
    "plan": ("sentinel.cli:plan_main", "validate a suite, then show what it would generate and cost (runs nothing)"),
    "data": ("sentinel.workloads.photos:main", "prepare or check the pinned reference photos (data/reference/)"),
    "workload": ("sentinel.workloads.__main__:main", "generate or check the workload CSVs; refresh their data card"),
    "weights": ("sentinel.smoke_weights:main", "write the seeded smoke-suite weights (Inception, CLIP, DINOv2; video encoder; LPIPS)"),
    "fetch": ("sentinel.metrics.fetch:main", "fetch or verify weights files pinned by sha256 in a manifest"),
    "rate": ("sentinel.human.app.__main__:main", "the blind rating app: serve, issue rater links, export ratings"),
    "release": ("sentinel.release.__main__:main", "cut, verify or list the quarterly releases"),
    "stage": ("sentinel.cli:stage_main", "run one dvc.yaml stage (of one model, for per-model stages) as dvc repro does"),
    "video-workload": ("sentinel.video.workload_gen:main", "generate or check the video workload CSV (workloads/VIDEO-DATACARD.md)"),
    "tryon-data": ("sentinel.tryon.smoke_set:main", "prepare or check the try-on smoke set (workloads/TRYON-DATACARD.md)"),
}
# DVC stage -> the module whose run(params_path[, model]) is the stage
STAGES: dict[str, str] = {"recipe": "sentinel.recipe", "generate": "sentinel.generate", "score": "sentinel.score",
                          "latency": "sentinel.latency", "gather": "sentinel.gather", "cost": "sentinel.cost.stage",
                          "report": "sentinel.report.stage",
                          # Media families (conf/suite/smoke-media.yaml): per model, then one report each.
                          "video-reference": "sentinel.video.reference_stage",
                          "video-generate": "sentinel.video.generate_stage",
                          "video-score": "sentinel.video.score_stage",
                          "video-latency": "sentinel.video.latency_stage",
                          "video-report": "sentinel.video.report_stage",
                          "tryon-generate": "sentinel.tryon.generate_stage",
                          "tryon-score": "sentinel.tryon.score_stage",
                          "tryon-latency": "sentinel.tryon.latency_stage",
                          "tryon-report": "sentinel.tryon.report_stage"}


def _run_stage(name: str, model: str | None, params_path: str) -> None:
    if name not in STAGES:
        raise SentinelError(f"unknown stage {name!r} (valid: {', '.join(STAGES)})")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on a model hub unless the user opts in
    module = importlib.import_module(STAGES[name])
    if model is None:
        module.run(params_path)
    else:
        module.run(params_path, model)


def stage(name: str, model: str | None = None, params_path: str = "params.yaml") -> None:
    """Run DVC stage `name` (for one model when given): what stages/<name>.py does. Exits non-zero
    on failure; outputs are written atomically at the end, so a failed stage leaves nothing that
    looks complete."""
    configure_logging()
    code = guarded(name, lambda: _run_stage(name, model, params_path))
    if code:
        raise SystemExit(code)


def stage_main(argv: list[str] | None = None, prog: str = "sentinel stage") -> int:
    """`sentinel stage NAME [MODEL] [--params params.yaml]`."""
    p = argparse.ArgumentParser(prog=prog, description=COMMANDS["stage"][1])
    p.add_argument("name", choices=list(STAGES), help="the dvc.yaml stage")
    p.add_argument("model", nargs="?", help="one model's stage (a key of params.yaml's model section)")
    p.add_argument("--params", default="params.yaml")
    args = p.parse_args(argv)
    _run_stage(args.name, args.model, args.params)
    return 0


def plan_main(argv: list[str] | None = None, prog: str = "sentinel plan") -> int:
    """`sentinel plan` (sentinel.cost.planner), after validating every section of the suite it plans:
    the --params file, or conf/ composed with the overrides. A bad value anywhere (latency and score
    included, which the plan itself does not read) stops it before any work, all problems in one message."""
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--params")
    pre.add_argument("-h", "--help", action="store_true")
    known, rest = pre.parse_known_args(argv)
    cfg = None if known.help else _validate_suite(known.params, [a for a in rest if "=" in a and not a.startswith("-")])
    from sentinel.cost import planner

    code = planner.main(argv)
    if cfg is not None and code == 0:  # the score profile and its pinned weights (sentinel.metrics.profile)
        from sentinel.metrics import profile

        print("\n".join(["", *profile.describe(cfg["score"], cfg["paths"].data, cfg["workload"])]))
    return code


def _validate_suite(params: str | None, overrides: list[str]) -> dict:
    from sentinel import config

    if params:
        return config.load(params)
    import tempfile
    from pathlib import Path

    import yaml

    from sentinel.compose import compose

    composed = compose(overrides)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(composed, sort_keys=False))
        try:
            return config.load(path)
        except config.ConfigError as e:  # name what the user wrote, not the temporary file
            where = f"conf/ with overrides {' '.join(overrides) or '(none)'}"
            raise config.ConfigError(*e.problems, path=where) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sentinel", description="Sentinel: a reproducible benchmark of image-generation "
                                "models on production-like workloads. Each command's --help lists its options.",
                                epilog="Set SENTINEL_DEBUG=1 for tracebacks, SENTINEL_LOG_LEVEL=DEBUG for more detail.")
    sub = p.add_subparsers(dest="command", metavar="<command>")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def dispatch(command: str, argv: list[str]) -> int:
    module, function = COMMANDS[command][0].split(":")
    return getattr(importlib.import_module(module), function)(argv, prog=f"sentinel {command}")


def main(argv: list[str] | None = None) -> int:
    """The console script: `sentinel <command> [args]`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser()
    if not argv or argv[0] in ("-h", "--help"):
        p.print_help(sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        p.error(f"unknown command {argv[0]!r} (valid: {', '.join(COMMANDS)})")
    configure_logging()
    return guarded(argv[0], lambda: dispatch(argv[0], argv[1:]))


if __name__ == "__main__":
    sys.exit(main())

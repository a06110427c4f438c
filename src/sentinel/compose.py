"""Compose conf/ into params.yaml exactly as `dvc exp run -S ...` does (DVC's own Hydra helper).

    sentinel compose                     # the committed default (suite=smoke)
    sentinel compose model=tiny-sd       # any Hydra override, as with `dvc exp run -S`
    sentinel compose --print suite=2026-q4   # print the composition; params.yaml is not touched
Use it to refresh params.yaml after editing conf/; `dvc exp run` does the same on its own.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import yaml

from sentinel.config import CONF_DIR, ConfigError

log = logging.getLogger(__name__)


def _compose_to(out: Path, overrides: list[str]) -> None:
    from dvc.utils.hydra import compose_and_dump

    try:
        compose_and_dump(out, str(CONF_DIR), None, "config", str(CONF_DIR.parent), list(overrides))
    except Exception as e:  # Hydra's errors name the bad override and list the valid options
        raise ConfigError(f"overrides {' '.join(overrides) or '(none)'}: {_one_line(str(e))}") from None


def _one_line(hydra_message: str) -> str:
    """Hydra's multi-line error as one line: the problem, then the valid options it lists."""
    lines = [x.strip() for x in hydra_message.split("Config search path:")[0].splitlines() if x.strip()]
    if len(lines) > 2 and lines[1].endswith(":"):
        return f"{lines[0]} ({lines[1]} {', '.join(lines[2:])})"
    return "; ".join(lines)


def compose(overrides: list[str] = ()) -> dict:
    """The composed config as a plain dict (what params.yaml holds)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        _compose_to(out, list(overrides))
        return yaml.safe_load(out.read_text())


def main(argv: list[str] | None = None, prog: str = "sentinel compose") -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=tiny-sd suite=2026-q4")
    p.add_argument("--out", type=Path, default=Path("params.yaml"), help="file to write (default: params.yaml)")
    p.add_argument("--print", dest="print_", action="store_true", help="print the composition instead of writing it")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.print_:
        print(yaml.safe_dump(compose(args.overrides), sort_keys=False), end="")
        return 0
    _compose_to(args.out, args.overrides)
    log.info("wrote %s%s", args.out, f" with overrides {' '.join(args.overrides)}" if args.overrides else "")
    return 0


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("compose", main))

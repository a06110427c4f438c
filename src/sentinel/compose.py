"""Compose conf/ into params.yaml exactly as `dvc exp run -S ...` does (DVC's own Hydra helper).

    python -m sentinel.compose                   # the committed default (suite=smoke)
    python -m sentinel.compose model=tiny-sd     # any Hydra override, as with `dvc exp run -S`
Use it to refresh params.yaml after editing conf/; `dvc exp run` does the same on its own.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from sentinel.config import CONF_DIR


def compose(overrides: list[str] = ()) -> dict:
    """The composed config as a plain dict (what params.yaml holds)."""
    from dvc.utils.hydra import compose_and_dump

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        compose_and_dump(out, str(CONF_DIR), None, "config", str(CONF_DIR.parent), list(overrides))
        return yaml.safe_load(out.read_text())


def main(argv: list[str] | None = None) -> int:
    from dvc.utils.hydra import compose_and_dump

    argv = sys.argv[1:] if argv is None else argv
    compose_and_dump(Path("params.yaml"), str(CONF_DIR), None, "config", str(CONF_DIR.parent), argv)
    print("wrote params.yaml" + (f" with overrides {' '.join(argv)}" if argv else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

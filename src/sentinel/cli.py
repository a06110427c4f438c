"""Entry points shared by the DVC stage scripts: run one stage, turn known errors into one clear line.

A stage that fails exits non-zero with `sentinel <stage>: error: <what and where>`; outputs are
written atomically at the end, so a failed stage leaves nothing that looks complete.
"""
from __future__ import annotations

import importlib
import os
import sys

from sentinel.config import ConfigError
from sentinel.workloads.jobs import WorkloadError

STAGES = ("generate", "score", "cost", "latency", "report")
KNOWN_ERRORS = (ConfigError, WorkloadError, FileNotFoundError, ValueError, RuntimeError)


def stage(name: str, params_path: str = "params.yaml") -> None:
    if name not in STAGES:
        raise SystemExit(f"sentinel: unknown stage {name!r} (valid: {', '.join(STAGES)})")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on a model hub unless the user opts in
    module = importlib.import_module(f"sentinel.{name}")
    try:
        module.run(params_path)
    except KNOWN_ERRORS as e:
        print(f"sentinel {name}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None

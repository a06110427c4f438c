"""The installed `sentinel` console script (pip install -e .) and the `python -m` entry points, run for real."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sentinel import cli

pytestmark = pytest.mark.slow  # a process per command, some importing torch: ~20 s on 2 cores


def test_the_installed_script_and_python_m_entry_points_answer_help():
    """The real console script (pip install -e .), each subcommand's --help, and `python -m sentinel`."""
    for command in cli.COMMANDS:
        proc = subprocess.run(["sentinel", command, "--help"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: sentinel {command}"), proc.stderr
    for module in ("sentinel", "sentinel.compose", "sentinel.workloads"):
        proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr

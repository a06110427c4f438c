"""What every command shares: one log format, and one policy for errors. Imports nothing of the project
but sentinel.errors, so any module's `__main__` block can use it without reaching up to the CLI.

A user error (`SentinelError`, a missing file) prints `sentinel <command>: error: <what and where>`
and exits 2. Anything else (a bug, the environment, torch's RuntimeErrors) is not dressed up as one:
`sentinel <command>: failed: <type>: <message>`, a pointer to SENTINEL_DEBUG=1, and exit 1; with
SENTINEL_DEBUG=1 every error is re-raised with its traceback.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from sentinel.errors import SentinelError

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
USER_ERRORS = (SentinelError, FileNotFoundError)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (pytest and callers may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str | None = None) -> None:
    """One handler and format for every `sentinel.*` logger, on stderr; SENTINEL_LOG_LEVEL sets the level.
    stdout is left to what a command produces (a plan, a verdict, rater links)."""
    logger = logging.getLogger("sentinel")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    logger.propagate = False  # a library's logging.basicConfig() must not print each line twice
    name = (level or os.environ.get("SENTINEL_LOG_LEVEL", "INFO")).upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        logger.setLevel("INFO")
        logger.warning("SENTINEL_LOG_LEVEL=%s is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL; using INFO", name)
        return
    logger.setLevel(name)


def debug() -> bool:
    return os.environ.get("SENTINEL_DEBUG", "") not in ("", "0")


def guarded(command: str, fn: Callable[[], int | None]) -> int:
    """fn's exit code; a user error becomes one line and 2, an unexpected one a line and 1 (or its traceback)."""
    try:
        return fn() or 0
    except USER_ERRORS as e:
        if debug():
            raise
        print(f"sentinel {command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sentinel {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 (a bug or the environment: say so, and how to see more)
        if debug():
            raise
        print(f"sentinel {command}: failed: {type(e).__name__}: {e}\n"
              "(set SENTINEL_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


def run_main(command: str, main: Callable[..., int]) -> int:
    """`python -m sentinel.<module>` as `sentinel <command>`: same logging, same errors, same prog name."""
    configure_logging()
    return guarded(command, lambda: main(sys.argv[1:], prog=f"sentinel {command}"))

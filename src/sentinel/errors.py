"""Every error a user can act on derives from `SentinelError`, so the command line can tell them apart.

`sentinel <cmd>` prints a SentinelError as one line, `sentinel <cmd>: error: <what and where>`, and
exits 2; anything else is a bug and shows its type (the traceback with SENTINEL_DEBUG=1). Each class
also keeps the builtin base it had before (ValueError or RuntimeError), so existing `except` clauses
still catch it. The classes stay importable where they were first defined (sentinel.config,
sentinel.workloads.jobs, ...); this module imports nothing, so the CLI can catch them cheaply.
"""
from __future__ import annotations


class SentinelError(Exception):
    """Bad input or a failed precondition; the message names what, where, and how to fix it."""


class ConfigError(SentinelError, ValueError):
    """Config values are missing, unknown or out of range; the message names the file and every key.

    `ConfigError("cost.utilisation: must be in (0, 1]")` is one problem. `ConfigError(*problems,
    path=...)` reports several at once, so a user fixes them all in one round instead of one per run.
    """

    def __init__(self, *problems: str, path: object = None):
        self.problems = [str(p) for p in problems] or ["invalid config"]
        self.path = None if path is None else str(path)
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.path}: " if self.path else ""
        if len(self.problems) == 1:
            return head + self.problems[0]
        lines = [f"{head}{len(self.problems)} config problems (all of them; fix and run again):"]
        return "\n".join([*lines, *(f"  - {p}" for p in self.problems)])


class WorkloadError(SentinelError, ValueError):
    """A workload file or row is malformed; the message names the file and line."""


class ReferenceSetError(SentinelError, ValueError):
    """A reference mapping names an unknown category, or a folder with no PNGs."""


class WeightsError(SentinelError, RuntimeError):
    """A weights file is missing or its sha256 differs from the pinned one; the message names it."""


class ExecutorError(SentinelError, RuntimeError):
    """Generation could not deliver exactly one result per job; the message says which and why."""


class ReleaseError(SentinelError, RuntimeError):
    """A release cannot be cut or read; the message says what and where, and how to fix it."""

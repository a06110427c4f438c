"""Progress for every long step: a bar in a terminal, a log line every N items or S seconds in logs.

    with Progress(len(jobs), "generate tiny-sd", unit="img") as bar:
        for job in jobs:
            ...
            bar.update()          # or bar.update(0) for an item that needed no work (a resumed job)

In a terminal (stderr is a TTY) this is tqdm's bar. Otherwise (DVC, CI, a log file) a bar would be
one unreadable line, so it logs `<desc>: 40 of 120 img (33 %), 12.1 s elapsed, ~24 s left` through
logging every `every_s` seconds or `every_n` items, whichever comes first, and once at the end.
`SENTINEL_PROGRESS_S` overrides the interval (0: a line per item).
"""
from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger("sentinel.progress")
DEFAULT_EVERY_S = 10.0


class Progress:
    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0, every_s: float | None = None,
                 every_n: int | None = None, tty: bool | None = None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        env = os.environ.get("SENTINEL_PROGRESS_S")
        self.every_s = float(env) if env else (DEFAULT_EVERY_S if every_s is None else every_s)
        self.every_n = every_n or max(1, total // 10)
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar = None
        self._t0 = self._last_t = time.monotonic()
        self._last_n = self._initial = initial  # resumed items do not count towards the rate

    def __enter__(self) -> Progress:
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.n, desc=self.desc, unit=self.unit, file=sys.stderr)
        return self

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        if self._bar is not None:
            self._bar.update(int(n))
            return
        now = time.monotonic()
        if now - self._last_t >= self.every_s or self.n - self._last_n >= self.every_n:
            self._line(now)

    def line(self) -> str:
        elapsed = time.monotonic() - self._t0
        share = f" ({self.n / self.total:.0%})" if self.total else ""
        done_here = self.n - self._initial
        left = (self.total - self.n) * elapsed / done_here if done_here > 0 and self.total else None
        eta = f", ~{left:.0f} s left" if left is not None and self.n < self.total else ""
        return f"{self.desc}: {self.n} of {self.total} {self.unit}{share}, {elapsed:.1f} s elapsed{eta}"

    def _line(self, now: float) -> None:
        log.info("%s", self.line())
        self._last_t, self._last_n = now, self.n

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.n != self._last_n or self.n == 0:
            self._line(time.monotonic())

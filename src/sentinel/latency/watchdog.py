"""Reaps a latency run's Serve processes when the stage goes away, even by SIGKILL.

    python -m sentinel.latency.watchdog TOKEN [RAY_TEMP_DIR]   # by serve.ServeInstance, stdin = a pipe

Every process of a run (Ray's GCS, raylet, agents, Serve controller, proxy, replicas) inherits
the environment variable TOKEN_ENV=TOKEN, which the stage sets only while it starts Ray. Ray's own
fate-sharing leaves some of them alive after its driver is SIGKILLed (measured: the dashboard and
runtime-env agents, beyond 10 s), and processes can start their own sessions, so a process group
cannot catch them all; the token can. The watchdog runs in its own session and blocks on stdin:
end of file means the stage closed the pipe (normal stop) or died (the kernel closed it), and it
then kills every process carrying the token and removes the run's Ray temp folder (its logs). `reap_orphans()` does the same at the next start for
runs whose stage *and* watchdog both died.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

TOKEN_ENV = "SENTINEL_SERVE_TOKEN"
REAP_FOR_S = 10.0


def pids_with(token: str | None) -> dict[int, str]:
    """pid -> token of this user's live processes carrying TOKEN_ENV (=token, or any when None)."""
    key, found = f"{TOKEN_ENV}=".encode(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        for item in env.split(b"\0"):
            if item.startswith(key):
                value = item[len(key):].decode("utf-8", "replace")
                if token is None or value == token:
                    found[int(entry.name)] = value
    return found


def reap(token: str, for_s: float = REAP_FOR_S) -> int:
    """SIGKILL every process carrying `token` until none is left (or `for_s` passes); how many."""
    killed, deadline = set(), time.monotonic() + for_s
    while time.monotonic() < deadline:
        pids = pids_with(token)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    return len(killed)


def remove_tree(path: str, for_s: float = 3.0) -> bool:
    """rmtree, retried: a dying Ray process can still add a log file while the tree is removed."""
    deadline = time.monotonic() + for_s
    while os.path.exists(path) and time.monotonic() < deadline:
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path):
            time.sleep(0.2)
    return not os.path.exists(path)


def owner_alive(token: str) -> bool:
    """A token is `<stage pid>-<its start time in clock ticks>`: is that very process alive?"""
    pid, _, start = token.partition("-")
    try:
        return (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()[19] == start
    except (OSError, IndexError):
        return False


def token_for(pid: int) -> str:
    return f"{pid}-{(Path('/proc') / str(pid) / 'stat').read_text().rsplit(')', 1)[1].split()[19]}"


def reap_orphans() -> int:
    """Kill leftovers of earlier runs whose stage is dead (a SIGKILLed stage and watchdog)."""
    tokens = {t for t in pids_with(None).values() if not owner_alive(t)}
    return sum(reap(t) for t in tokens)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m sentinel.latency.watchdog TOKEN [RAY_TEMP_DIR]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the stage must not skip the reaping
    sys.stdin.buffer.read()  # blocks until the stage closes the pipe or dies
    reap(argv[0])
    if len(argv) == 2:
        remove_tree(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

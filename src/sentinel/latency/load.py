"""Load generator: open loop on a precomputed schedule, or closed loop at fixed concurrency.

Latency is measured from each request's *scheduled* send time to its last byte, so when the
server (or this client) falls behind, the queueing shows up in the latency instead of being
hidden (coordinated omission). The gap between scheduled and actual send is kept as `lag_s`.
Errors, timeouts and rejections (429) are misses: +inf in the sample, never dropped.

    send = load.http_sender("http://127.0.0.1:8000", "/work", timeout_s=5.0)
    result = load.open_loop(send, schedules.poisson(50.0, 500, seed=0), timeout_s=5.0, workers=64)
    result = load.closed_loop(send, n=500, concurrency=4, timeout_s=5.0)

`send(i, timeout_s)` performs request i and returns "" on success or the reason it missed, or a
dict {"reason": ..., **fields} whose fields go into that request's row (`LoadResult.rows`).
The rate search over such runs lives in capacity.py.
"""
from __future__ import annotations

import http.client
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sentinel.latency.schedules import offered_rate_rps

Send = Callable[[int, float], "str | dict"]  # "" / reason, or {"reason": ..., **fields for the row}
Stop = Callable[[dict], bool]  # given each finished row: stop sending the rest?
LEAD_S = 0.05  # the schedule starts this long after the workers are ready
SPIN_S = 0.0005  # sleep until this close to the due time, then spin: sleep() overshoots


@dataclass
class LoadResult:
    mode: str  # "open-loop" or "closed-loop"
    offered_rate_rps: float | None  # None in closed loop: the server's pace sets the rate
    latencies_s: list[float]  # scheduled send -> last byte; math.inf for a miss
    lags_s: list[float]  # actual send - scheduled send (client-side delay)
    misses: list[dict] = field(default_factory=list)  # [{index, reason}]
    duration_s: float = math.nan  # first scheduled send -> last completion
    rows: list[dict | None] = field(default_factory=list)  # per request; times in s from the origin
    stopped_early: bool = False  # a Stop said so: requests after it were never sent (and are dropped)
    origin: float = math.nan  # perf_counter time of the schedule's 0 (rows' times are relative to it)

    @property
    def achieved_rate_rps(self) -> float:
        return len(self.latencies_s) / self.duration_s


def _wait_until(t: float) -> None:
    while (wait := t - time.perf_counter()) > SPIN_S:
        time.sleep(wait - SPIN_S)
    while time.perf_counter() < t:
        pass


def _one(send: Send, i: int, due: float, origin: float, timeout_s: float, out: LoadResult) -> dict:
    """Send request i (due at perf_counter time `due`), record latency/lag/miss and its row."""
    start = time.perf_counter()
    try:
        got = send(i, timeout_s)
    except Exception as e:  # noqa: BLE001 - a crashing request is a miss, never a lost sample
        got = f"{type(e).__name__}: {e}"
    finish = time.perf_counter()
    extra = dict(got) if isinstance(got, dict) else {"reason": got}
    reason = extra.pop("reason")
    if not reason and finish - due > timeout_s:
        reason = f"timeout: {finish - due:.3f} s from the scheduled send > timeout_s={timeout_s}"
    out.latencies_s[i] = math.inf if reason else finish - due
    out.lags_s[i] = start - due
    if reason:
        out.misses.append({"index": i, "reason": reason})
    row = {"index": i, "scheduled_s": due - origin, "sent_s": start - origin, "done_s": finish - origin,
           "latency_s": out.latencies_s[i], "ok": not reason, "reason": reason, **extra}
    out.rows[i] = row
    return row


def _run_workers(n_workers: int, body: Callable[[], None]) -> float:
    """Start the workers, then release them together; returns the release time (perf_counter),
    so thread start-up on a busy machine never eats into the schedule."""
    go = threading.Event()

    def wait_then_run() -> None:
        go.wait()
        body()

    threads = [threading.Thread(target=wait_then_run, daemon=True) for _ in range(n_workers)]
    for t in threads:
        t.start()
    released = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    return released


def _claim(lock: threading.Lock, counter: itertools.count, n: int) -> Iterator[int]:
    """Request indices 0..n-1, each handed to exactly one of the workers sharing `counter`."""
    while True:
        with lock:
            i = next(counter)
        if i >= n:
            return
        yield i


def open_loop(send: Send, offsets_s: Sequence[float], timeout_s: float, workers: int,
              stop: Stop | None = None) -> LoadResult:
    """Send request i at offsets_s[i] whatever happened to earlier requests. `workers` threads
    take requests in schedule order; if all are busy a request goes out late, and that lateness
    is in its latency (and in lags_s), so a client bottleneck cannot flatter the server. Once
    `stop(row)` is true for a finished request, nothing more is sent (a probe already failed)."""
    n = len(offsets_s)
    if n < 1 or workers < 1 or any(b < a for a, b in zip(offsets_s, offsets_s[1:])):
        raise ValueError(f"open_loop: need >= 1 sorted offsets and workers >= 1, got {n} offsets, "
                         f"workers={workers}")
    out = LoadResult("open-loop", offered_rate_rps(offsets_s), [math.nan] * n, [math.nan] * n, rows=[None] * n)
    lock, counter, t0, last, halt = threading.Lock(), itertools.count(), [math.nan], [0.0], threading.Event()

    def body() -> None:
        with lock:
            if math.isnan(t0[0]):  # the first released worker fixes the schedule's origin
                t0[0] = last[0] = time.perf_counter() + LEAD_S
        for i in _claim(lock, counter, n):
            due = t0[0] + offsets_s[i]
            _wait_until(due)
            if halt.is_set():
                return
            row = _one(send, i, due, t0[0], timeout_s, out)
            with lock:
                last[0] = max(last[0], t0[0] + row["done_s"])
                if stop is not None and stop(row):
                    halt.set()

    _run_workers(min(workers, n), body)
    out.origin = t0[0]
    out.duration_s = last[0] - (t0[0] + offsets_s[0])
    if halt.is_set():
        _drop_unsent(out)
    out.misses.sort(key=lambda m: m["index"])
    return out


def busiest_window(offsets_s: Sequence[float], window_s: float) -> int:
    """Most requests the (sorted) schedule has due within any `window_s`-long interval."""
    best, lo, edge = 0, 0, window_s * (1 - 1e-9)  # [t, t + window): half open, robust to float sums
    for hi, t in enumerate(offsets_s):
        while t - offsets_s[lo] >= edge:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def in_flight_limit(offsets_s: Sequence[float], slo_s: float, headroom: float, cap: int) -> int:
    """Client workers for an open-loop run, from Little's law (in flight = rate x time in system):
    while the server meets its SLO a request is in flight at most `slo_s`, so at most the requests
    due in the schedule's busiest `slo_s` window are in flight at once (rate x SLO for even
    arrivals; bursts and diurnal peaks included); times `headroom`, in [1, cap]. More threads than
    that only cost the client CPU on a small machine (64 workers made a 2 s server read 3.08 s);
    fewer would delay sends, which the run then reports as schedule lag (client_bound)."""
    if not (math.isfinite(slo_s) and slo_s > 0 and math.isfinite(headroom) and headroom > 0 and cap >= 1):
        raise ValueError(f"in_flight_limit: need slo_s > 0, headroom > 0, cap >= 1; got {slo_s}, {headroom}, {cap}")
    return max(1, min(cap, math.ceil(headroom * busiest_window(offsets_s, slo_s))))


def _drop_unsent(out: LoadResult) -> None:
    keep = [i for i, row in enumerate(out.rows) if row is not None]
    out.latencies_s = [out.latencies_s[i] for i in keep]
    out.lags_s = [out.lags_s[i] for i in keep]
    out.rows = [out.rows[i] for i in keep]
    out.stopped_early = True


def closed_loop(send: Send, n: int, concurrency: int, timeout_s: float) -> LoadResult:
    """`concurrency` workers, each sending its next request the moment its previous one ended
    (the scheduled time *is* that moment, so lag is ~0 by construction)."""
    if n < 1 or concurrency < 1:
        raise ValueError(f"closed_loop: need n >= 1 and concurrency >= 1, got n={n}, concurrency={concurrency}")
    out = LoadResult("closed-loop", None, [math.nan] * n, [math.nan] * n, rows=[None] * n)
    lock, counter, last, origin = threading.Lock(), itertools.count(), [0.0], time.perf_counter()

    def body() -> None:
        for i in _claim(lock, counter, n):
            row = _one(send, i, time.perf_counter(), origin, timeout_s, out)
            with lock:
                last[0] = max(last[0], origin + row["done_s"])

    t_start = _run_workers(min(concurrency, n), body)
    out.origin = origin
    out.duration_s = last[0] - t_start
    out.misses.sort(key=lambda m: m["index"])
    return out


def http_sender(url: str, path: str, timeout_s: float, method: str = "GET") -> Send:
    """A Send doing `method url+path` on a keep-alive connection per worker thread; any status
    other than 200 (429 included) and any transport error is a miss. Each request carries its
    index in an X-Request header, so a server's own log can be matched to the client's rows."""
    parts = urlsplit(url)
    local = threading.local()

    def send(i: int, timeout: float) -> str:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request(method, path, headers={"X-Request": str(i)})
            resp = conn.getresponse()
            resp.read()
        except TimeoutError:
            conn.close()
            local.conn = None
            return f"timeout after {timeout} s"
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            local.conn = None
            return f"{type(e).__name__}: {e}"
        return "" if resp.status == 200 else f"HTTP {resp.status}"

    return send

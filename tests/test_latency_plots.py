"""The latency figures and the report's latency lines from hand-written stage outputs: replica counts
and offered rates against closed forms, both PNGs rendered for real (matplotlib, deterministic bytes),
TEST01 / TEST04 verdicts and the client_bound flag printed in report.md."""
from __future__ import annotations

from sentinel.report import latency_plots, leaderboard
from sentinel.report.markdown import render
from sentinel.report.stage import plot_data

from test_report_render import RCFG, _board, _latency, _model, _score  # noqa: F401 - shared fixtures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _row(t, latency, replica, ready=None, cold=False):
    done = None if latency is None else t + latency
    return {"scheduled_s": t, "sent_s": t, "done_s": t + 5.0 if done is None else done, "latency_s": latency,
            "replica": replica, "replica_ready_s": ready, "cold": cold}


# a warm replica from calibration; an idle gap scales to zero; the next request waits 3 s for replica b
ROWS = [_row(0.0, 0.2, "a", ready=-4.0), _row(1.0, 0.2, "a", ready=-4.0), _row(10.0, 3.2, "b", ready=13.0, cold=True),
        _row(10.5, 2.8, "b", ready=13.0), _row(14.0, None, None)]


def test_replica_steps_from_the_request_headers():
    times, counts = latency_plots.replica_steps(ROWS)
    assert times == [0.0, 1.2, 13.0, 13.3] and counts == [1, 0, 1, 0]
    overlap = [_row(0.0, 1.0, "a", ready=0.5), _row(0.2, 1.0, "b", ready=0.6)]
    assert latency_plots.replica_steps(overlap) == ([0.0, 0.5, 0.6, 1.0, 1.2], [0, 1, 2, 1, 0])


def test_offered_rate_closed_form():
    edges, rate = latency_plots.offered_rate([0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 4.0], bins=2)
    assert list(edges) == [0.0, 2.0, 4.0] and list(rate) == [2.0, 2.0]  # 4 in [0, 2), 4 in [2, 4]


def _entry(name, **extra):
    return {**_latency(name), "load": [
        {"offered_rate_rps": 2.0, "latency_p50_s": 0.2, "latency_p99_s": 0.4, "verdict": "met"},
        {"offered_rate_rps": 4.0, "latency_p50_s": 0.9, "latency_p99_s": None, "verdict": "failed"},
        {"offered_rate_rps": 3.0, "latency_p50_s": 0.3, "latency_p99_s": 0.7, "verdict": "void"}],
        "capacity_bracket_rps": [2.0, 4.0], "schedule": {"trace_speedup": 7.5}, **extra}


def test_both_figures_render_deterministically_and_plot_data_adds_the_timeline():
    models = {"alpha": _entry("alpha"), "beta": _entry("beta", capacity_bracket_rps=[2.0, None])}
    colour = {"alpha": "#1f77b4", "beta": "#ff7f0e"}
    load = latency_plots.latency_vs_load(models, colour)
    assert load.startswith(PNG_MAGIC) and load == latency_plots.latency_vs_load(models, colour)
    time = latency_plots.timeline({"alpha": ROWS, "beta": ROWS[:2]}, models, colour)
    assert time.startswith(PNG_MAGIC) and time == latency_plots.timeline({"alpha": ROWS, "beta": ROWS[:2]}, models, colour)
    board = _board()
    with_rows = plot_data(board, {"models": models}, {"alpha": ROWS, "beta": ROWS})
    assert with_rows["latency_timeline.png"].startswith(PNG_MAGIC) and with_rows["latency_load.png"].startswith(PNG_MAGIC)
    assert "latency_timeline.png" not in plot_data(board, {"models": models})


def test_report_prints_both_verdicts_and_flags_a_client_bound_run():
    compliance = {"test01": {"verdict": "pass", "n_checked": 12, "n_mismatched": 0},
                  "test04": {"verdict": "fail", "ratio": 0.05, "ratio_ci95": [0.04, 0.06], "n": 6, "bound": 0.9,
                             "reason": "alpha: repeated identical requests are 95% faster than fresh ones"}}
    lat = {**_latency("alpha"), "compliance": compliance, "client_bound": True, "schedule_lag_p99_s": 0.25,
           "client_lag_bound_s": 0.05}
    rows = [leaderboard.entry("alpha", _model("alpha"), _score(10, {}), None, lat, RCFG)]
    board = {**_board(), "models": leaderboard.rank(rows, RCFG)}
    md = render(board, records=[])
    detail = md[md.index("## Latency detail"):]
    assert "TEST01 (delivered images = generate stage's) **pass**, 12 of 12 identical" in detail
    assert "TEST04 (no response cache) **fail**, repeated / fresh median latency 0.050 [0.040, 0.060] over 6" in detail
    assert "alpha: repeated identical requests are 95% faster" in detail
    assert "**alpha: client_bound**: schedule lag p99 0.2500 s > bound 0.0500 s" in detail
    quiet = render({**board, "models": [{**board["models"][0], "client_bound": False}]}, records=[])
    assert "client_bound" not in quiet and "TEST04" in quiet

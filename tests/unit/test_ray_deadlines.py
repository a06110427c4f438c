"""The Ray executor's per-chunk deadline: stated until measured, then from the slowest job seen."""
from sentinel.executors.ray_exec import Deadlines


def _rows(*compute_s):
    return [({"timing": {"compute_s": s}}, None) for s in compute_s]


def test_stated_deadline_until_a_chunk_returns_then_measured():
    d = Deadlines(stated_s=600.0, factor=10.0)
    assert d.allowance(4, warm=True) == 600.0  # nothing measured yet
    d.observe(_rows(0.2, 0.9, 0.4))
    assert d.allowance(4, warm=True) == 10.0 * 0.9 * 4  # slowest job, times the chunk's jobs
    assert d.allowance(4, warm=False) == 600.0  # a fresh actor loads its model first


def test_measured_deadline_has_a_floor_and_only_grows():
    d = Deadlines(stated_s=600.0, factor=10.0)
    d.observe(_rows(0.01))
    assert d.allowance(1, warm=True) == Deadlines.MIN_TIMEOUT_S
    d.observe(_rows(2.0))
    d.observe(_rows(0.5))
    assert d.allowance(1, warm=True) == 20.0

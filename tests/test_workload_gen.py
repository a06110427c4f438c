"""The workload generator: byte-identical per seed, matching the distributions its data card states."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from sentinel.workloads import card
from sentinel.workloads import generator as gen
from sentinel.workloads import spec
from sentinel.provenance import sha256_bytes
from sentinel.workloads.jobs import load_workload
from sentinel.workloads.arrivals import arrivals, intensity

CATS = tuple(spec.CATEGORY_SHARES)
P_MIN = 1e-3  # a table fails when the generated counts are this unlikely under the card's shares


@pytest.fixture(scope="module")
def q4(root):
    return load_workload(root / "workloads/2026-q4.csv", CATS)


@pytest.fixture(scope="module")
def stated(root):
    return card.parse_distributions((root / "workloads/DATACARD.md").read_text())


@pytest.mark.parametrize("profile", ["smoke", "2026-q4"])
def test_same_seed_gives_byte_identical_files_and_committed_files_match(profile, root, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    gen.write(profile, a), gen.write(profile, b)
    assert a.read_bytes() == b.read_bytes() == (root / f"workloads/{profile}.csv").read_bytes()
    meta = gen.meta_path(a).read_bytes()
    assert meta == gen.meta_path(b).read_bytes() == (root / f"workloads/{profile}.meta.json").read_bytes()
    assert json.loads(meta)["csv_sha256"] == sha256_bytes(a.read_bytes())
    other = gen.to_csv_bytes(gen.generate(profile, seed=spec.PROFILES[profile]["seed"] + 1)[0])
    assert other != a.read_bytes()


def test_smoke_stays_small_and_fast(root):
    wl = load_workload(root / "workloads/smoke.csv", CATS)
    assert len(wl.jobs) == 12 and {(j.width, j.height) for j in wl.jobs} == {(64, 64)}
    assert {c: sum(j.category == c for j in wl.jobs) for c in CATS} == {c: 4 for c in CATS}
    assert all(wl.attributes[j.id] for j in wl.jobs)


def test_data_card_tables_are_current(root):
    text = (root / "workloads/DATACARD.md").read_text()
    section = text.split(card.BEGIN, 1)[1].split(card.END, 1)[0]
    assert card.BEGIN + section + card.END == card.render(), "run `python -m sentinel.workloads.generator card`"


def _observed(q4, category: str, attr: str, given: str, gvalue: str) -> list[str]:
    out = []
    for job in q4.jobs:
        a = q4.attributes[job.id]
        if job.category != category or (given and a.get(given) != gvalue):
            continue
        if attr == "size":
            out.append(f"{job.width}x{job.height}")
        elif attr == "negative_terms":
            out.append(str(len(job.negative_prompt.split(", "))) if job.negative_prompt else "0")
        else:
            out.append(a[attr])
    return out


def chi_square_p(observed: list[str], shares: dict[str, float]) -> float:
    unexpected = set(observed) - set(shares)
    assert not unexpected, f"values not in the card: {unexpected}"
    counts = np.array([observed.count(v) for v in shares], float)
    expected = np.array(list(shares.values())) / sum(shares.values()) * len(observed)
    return float(stats.chisquare(counts, expected).pvalue)


def test_generated_workload_matches_the_card(q4, stated):
    tested = 0
    for (cat, attr, given, gvalue), shares in stated.items():
        if cat == "all" or attr == "detail_clauses":  # categories: exact quotas (below); clauses: not recoverable
            continue
        p = chi_square_p(_observed(q4, cat, attr, given, gvalue), shares)
        assert p > P_MIN, f"{cat}.{attr}{f' given {given}={gvalue}' if given else ''}: chi-square p = {p:.2g}"
        tested += 1
    assert tested >= 20
    counts = {c: sum(j.category == c for j in q4.jobs) for c in CATS}
    assert counts == {c: round(stated[("all", "category", "", "")][c] * 12000) for c in CATS}


def test_chi_square_check_rejects_a_wrong_distribution(q4, stated):
    shares = dict(stated[("corporate_headshot", "age_band", "", "")])
    shares["25-34"], shares["65+"] = shares["65+"], shares["25-34"]  # a card that misstates one table
    assert chi_square_p(_observed(q4, "corporate_headshot", "age_band", "", ""), shares) < P_MIN


def test_prompt_lengths_include_clip_truncated_prompts(q4):
    n = card.clip_token_counts([j.prompt for j in q4.jobs])
    over = int((n > card.CLIP_CONTEXT).sum())
    assert 0.01 * len(n) < over < 0.10 * len(n)
    assert np.median(n) < 50


def test_sizes_and_negative_prompts_vary(q4):
    assert len({(j.width, j.height) for j in q4.jobs}) >= 5
    assert {j.width > j.height for j in q4.jobs} == {True, False}
    empty = sum(not j.negative_prompt for j in q4.jobs) / len(q4.jobs)
    assert abs(empty - spec.NEGATIVE_COUNTS[0]) < 0.02


def test_arrivals_follow_the_diurnal_closed_form():
    # No bursts: the share in the middle half of the day is 1/2 + amplitude/pi (integral of the cosine).
    times, _ = arrivals(3, 20000, duration_s=86400.0, day_s=86400.0, amplitude=0.6, bursts=0, burst_s=1.0,
                        burst_factor=0.0)
    t = np.array(times)
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() <= 86400
    share = np.mean((t >= 21600) & (t < 64800))
    assert share == pytest.approx(0.5 + 0.6 / math.pi, abs=0.01)  # binomial sd 0.0033


def test_arrivals_bursts_carry_their_stated_mass():
    kw = dict(duration_s=3600.0, day_s=3600.0, amplitude=0.0, bursts=2, burst_s=60.0, burst_factor=6.0)
    times, windows = arrivals(5, 20000, **kw)
    assert times == arrivals(5, 20000, **kw)[0]
    edges, rate = intensity(3600.0, 3600.0, 0.0, windows, 6.0, 1.0)
    mid = (edges[:-1] + edges[1:]) / 2
    inside = np.zeros_like(mid, bool)
    for start, length in windows:
        inside |= (mid >= start) & (mid < start + length)
    expected = (rate * np.diff(edges))[inside].sum() / (rate * np.diff(edges)).sum()
    t = np.array(times)
    got = np.mean(np.any([(t >= s) & (t < s + ln) for s, ln in windows], axis=0))
    assert got == pytest.approx(expected, abs=0.015)
    assert expected > 2 * (2 * 60 / 3600)  # bursts are denser than their share of the time


def test_unknown_profile_is_named():
    with pytest.raises(ValueError, match="unknown workload profile 'q9'.*smoke"):
        gen.generate("q9")

"""Row order cannot change a number: the score stage on a workload and its records shuffled, with every
reference folder listed in reverse, writes a metrics.json byte-identical to the unshuffled run's.

Why it holds (metrics/streams.py): records are put in (model, job id) order, images on both sides in
`<folder>/<file>` order, and every subsample (KID subsets, half-sample intervals, the CLIP bootstrap)
is drawn from a stream seeded by score.seed and the set of image keys. The control shows the same
draws on rows in another order do give another number, so the comparison can fail.
"""
from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from score_project import make_project, write_workload
from sentinel import score
from sentinel.provenance import read_jsonl, write_jsonl

pytest_plugins = ["metrics_fixtures"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, smoke_params, image_sets, inception_weights, clip_weights):
    return make_project(tmp_path_factory.mktemp("order"), smoke_params, image_sets, inception_weights, clip_weights,
                        tmp_path_factory.mktemp("cache"))


def _shuffle(root) -> None:
    """Shuffle the records (as generate writes them, in workload order) and the workload CSV's rows, in place."""
    rng = random.Random(7)
    rows = read_jsonl(root / "records.jsonl")
    rng.shuffle(rows)
    write_jsonl(root / "records.jsonl", rows)
    jobs = list(csv.DictReader((root / "workload.csv").open(encoding="utf-8")))
    rng.shuffle(jobs)
    write_workload(root / "workload.csv", jobs)
    assert [r["job_id"] for r in rows] != sorted(r["job_id"] for r in rows)


@pytest.fixture(scope="module")
def two_orders(project):
    """metrics.json and ratings.jsonl in workload order, then after shuffling, same folder (same paths)."""
    first = score.run(project / "params.yaml")
    before = [(project / "out" / n).read_bytes() for n in ("metrics.json", "ratings.jsonl")]
    _shuffle(project)
    listed = score.scored_references
    with pytest.MonkeyPatch.context() as mp:  # every reference folder listed in reverse
        mp.setattr(score, "scored_references", lambda *args: list(reversed(listed(*args))))
        score.run(project / "params.yaml")
    return project, first, before, [(project / "out" / n).read_bytes() for n in ("metrics.json", "ratings.jsonl")]


def test_shuffled_workload_rows_and_reference_listing_change_no_number(two_orders):
    _, first, before, after = two_orders
    assert after[0] == before[0]  # metrics.json, byte for byte
    assert after[1] == before[1]  # ratings.jsonl
    overall = first["models"]["m"]["overall"]
    assert overall["ci"]["fid"]["low"] is not None and overall["kid_subsets_seed"] > 0  # the draws were made


def test_the_same_draws_on_rows_in_another_order_give_another_number(features):
    """The control: KID subsets from one seed over reordered rows differ, so canonical order is what
    makes the comparison above hold (it is not vacuous)."""
    from sentinel.metrics import streams

    gen, ref = features["faces_b_noise8"][:12], features["faces_a"][:15]
    kw = dict(subset_size=4, subsets=5, seed=streams.kid_subsets_seed([f"m/{i}" for i in range(12)], 0))
    assert streams.kid_subsets(gen, ref, **kw) != streams.kid_subsets(gen[::-1], ref, **kw)
    keys = [f"m/{i}.png" for i in range(12)]
    assert streams.stream_seed(keys, "x", 0) == streams.stream_seed(keys[::-1], "x", 0)
    assert streams.stream_seed(keys, "x", 0) != streams.stream_seed(keys, "x", 1)


def test_the_overall_fid_is_the_categories_combined_by_the_declared_mix(two_orders):
    """6 / 4 / 4 jobs declared: overall = Σ w_c FID_c with w = 6/14, 4/14, 4/14; the interval combines
    the categories' standard errors; the pooled FID is kept, labelled."""
    from sentinel.metrics.bootstrap import z

    m = json.loads((two_orders[0] / "out/metrics.json").read_text())["models"]["m"]
    o, cats = m["overall"], m["categories"]
    w = {"corporate_headshot": 6 / 14, "ecommerce_product": 4 / 14, "creative_portrait": 4 / 14}
    assert o["category_mix"] == pytest.approx(w, rel=1e-15)
    for name in ("fid", "kid", "cmmd"):
        assert o[name] == pytest.approx(sum(w[c] * cats[c][name] for c in w), rel=1e-12), name
        se = np.sqrt(sum(w[c] ** 2 * cats[c]["ci"][name]["se"] ** 2 for c in w))
        assert o["ci"][name]["se"] == pytest.approx(se, rel=1e-12) and o["ci"][name]["high"] == pytest.approx(
            o[name] + z(0.95) * se, rel=1e-12), name
        assert f"{name}_pooled" in o and o["ci"][f"{name}_pooled"]["n_generated"] == 14, name
    assert o["fid"] != o["fid_pooled"]
    assert o["clip_score"] == pytest.approx(np.mean(o["clip_score_per_image"]), rel=1e-12)  # pairs: pooled

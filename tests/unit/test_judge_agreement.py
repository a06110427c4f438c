"""Judge agreement against raters whose preferences are known by construction."""
from __future__ import annotations

import numpy as np

from sentinel.human.agreement import agreement

FID = {"m1": 10.0, "m2": 20.0, "m3": 30.0}  # lower is better: m1 > m2 > m3


def _votes(prefer, n_jobs=20, raters=3):
    models = sorted(FID)
    votes = []
    for r in range(raters):
        for j in range(n_jobs):
            a, b = models[j % 3], models[(j + 1) % 3]
            votes.append({"rater": f"r{r}", "job_id": f"j{j}", "model_a": a, "model_b": b,
                          "outcome": "a" if prefer(a, b, r, j) else "b"})
    return votes


def test_raters_who_always_prefer_the_lower_fid_model_agree_with_fid_fully():
    votes = _votes(lambda a, b, r, j: FID[a] < FID[b])
    out = agreement(votes, {"fid": {"higher_is_better": False, "models": FID},
                            "anti": {"higher_is_better": True, "models": FID}})
    assert out["fid"]["vote_agreement"] == 1.0 and out["fid"]["vote_agreement_ci"] == [1.0, 1.0]
    assert out["fid"]["rank_tau"] == 1.0 and out["fid"]["n_votes"] == 60
    assert out["anti"]["vote_agreement"] == 0.0 and out["anti"]["rank_tau"] == -1.0


def test_random_votes_agree_about_half_and_ties_are_left_out():
    rng = np.random.default_rng(3)
    coin = rng.random(200) < 0.5
    votes = _votes(lambda a, b, r, j: coin[r * 50 + j], n_jobs=50, raters=4)
    votes[0]["outcome"] = "tie"
    out = agreement(votes, {"fid": {"higher_is_better": False, "models": FID}})["fid"]
    lo, hi = out["vote_agreement_ci"]
    assert out["n_left_out"] == 1 and out["n_votes"] == 199
    assert lo < 0.5 < hi and 0.35 < out["vote_agreement"] < 0.65


def test_per_image_values_are_used_where_a_metric_has_them_and_order_does_not_matter():
    votes = _votes(lambda a, b, r, j: j % 2 == 0, n_jobs=10, raters=1)
    per_image = {(v[m], v["job_id"]): (1.0 if (v["job_id"][1:].isdigit() and int(v["job_id"][1:]) % 2 == 0)
                                       == (m == "model_a") else 0.0)
                 for v in votes for m in ("model_a", "model_b")}
    metric = {"clip": {"higher_is_better": True, "models": {"m1": 1.0, "m2": 1.0, "m3": 1.0},
                       "per_image": per_image}}
    assert agreement(votes, metric)["clip"]["vote_agreement"] == 1.0
    assert agreement(list(reversed(votes)), metric) == agreement(votes, metric)

"""Which automatic judge agrees with people: per metric, the share of human pairwise votes it agrees
with, and the model-level rank correlation with the human win rates, each with a bootstrap CI.

A vote (job, model_a, model_b, outcome a | b | tie) agrees with a metric when the metric prefers the
image (or, for set-level metrics such as FID, the model) the rater chose. Ties, and pairs the metric
cannot separate, are left out and counted. Intervals resample votes with a generator seeded from the
sorted vote keys, so row order never changes a number. Pure numpy/scipy: no torch.
"""
from __future__ import annotations

import hashlib

import numpy as np

def _seed(votes: list[dict]) -> int:
    keys = sorted(f"{v['rater']}|{v['job_id']}|{v['model_a']}|{v['model_b']}" for v in votes)
    return int.from_bytes(hashlib.sha256("\n".join(keys).encode()).digest()[:8], "big")


def _value(metric: dict, model: str, job: str) -> float | None:
    """Per-image value when the metric has one for this image, else the model-level value."""
    per_image = metric.get("per_image") or {}
    if (model, job) in per_image:
        return per_image[(model, job)]
    return metric.get("models", {}).get(model)


def _rows(votes: list[dict], metric: dict) -> tuple[np.ndarray, int]:
    """(agrees per decisive vote the metric separates, n votes left out)."""
    sign = 1.0 if metric["higher_is_better"] else -1.0
    agree, left_out = [], 0
    for v in votes:
        a, b = _value(metric, v["model_a"], v["job_id"]), _value(metric, v["model_b"], v["job_id"])
        if v["outcome"] == "tie" or a is None or b is None or a == b:
            left_out += 1
            continue
        agree.append((sign * (a - b) > 0) == (v["outcome"] == "a"))
    return np.array(agree, dtype=bool), left_out


def _kendall(metric: dict, votes: list[dict]) -> float | None:
    from scipy.stats import kendalltau

    wins: dict[str, list[int]] = {}
    for v in votes:
        if v["outcome"] == "tie":
            continue
        for m, won in ((v["model_a"], v["outcome"] == "a"), (v["model_b"], v["outcome"] == "b")):
            wins.setdefault(m, []).append(int(won))
    models = sorted(m for m in wins if metric.get("models", {}).get(m) is not None)
    if len(models) < 2:
        return None
    sign = 1.0 if metric["higher_is_better"] else -1.0
    tau = kendalltau([sign * metric["models"][m] for m in models], [np.mean(wins[m]) for m in models]).statistic
    return None if np.isnan(tau) else float(tau)


def agreement(votes: list[dict], metrics: dict[str, dict], level: float = 0.95, draws: int = 1000) -> dict:
    """`metrics`: name -> {"higher_is_better": bool, "models": {model: value},
    optional "per_image": {(model, job_id): value}}."""
    votes = sorted(votes, key=lambda v: (v["rater"], v["job_id"], v["model_a"], v["model_b"]))
    rng_seed, out = _seed(votes) if votes else 0, {}
    q = ((1 - level) / 2, (1 + level) / 2)
    for name, metric in sorted(metrics.items()):
        agree, left_out = _rows(votes, metric)
        row = {"vote_agreement": float(agree.mean()) if len(agree) else None, "vote_agreement_ci": None,
               "n_votes": len(agree), "n_left_out": left_out, "rank_tau": _kendall(metric, votes),
               "rank_tau_ci": None, "ci_level": level}
        rng = np.random.default_rng(rng_seed)
        if len(agree) >= 2:
            reps = agree[rng.integers(0, len(agree), size=(draws, len(agree)))].mean(axis=1)
            row["vote_agreement_ci"] = [float(np.quantile(reps, q[0])), float(np.quantile(reps, q[1]))]
        if row["rank_tau"] is not None and len(votes) >= 2:
            taus = [_kendall(metric, [votes[i] for i in rng.integers(0, len(votes), len(votes))]) for _ in range(200)]
            taus = [t for t in taus if t is not None]
            row["rank_tau_ci"] = [float(np.quantile(taus, q[0])), float(np.quantile(taus, q[1]))] if taus else None
        out[name] = row
    return out

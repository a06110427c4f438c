"""Statistics of human ratings: Bradley–Terry with ties, mean opinion score, Krippendorff's alpha.

Bradley–Terry with ties (Davidson 1970). Each model i has a log-strength theta_i; for a comparison
of i with j, with pi = exp(theta) and a tie parameter nu >= 0,

    P(i wins) = pi_i / D,   P(j wins) = pi_j / D,   P(tie) = nu * sqrt(pi_i * pi_j) / D,
    D = pi_i + pi_j + nu * sqrt(pi_i * pi_j).

Ties are therefore their own outcome, not half-wins: a tie is evidence that two models are close,
and nu is fitted jointly with the strengths by maximum likelihood (damped Newton, analytic gradient and Hessian).
A weak Gaussian prior on theta (`BT_RIDGE`, i.e. sd ~ 22 on the log scale) keeps the fit finite
when a model never wins; with a few hundred votes its effect is below the reported precision.
Strengths are reported centred (mean theta = 0). Confidence intervals are seeded percentile
bootstraps over votes (votes resampled with replacement, model refitted), at the configured
level (score.ci_level), through sentinel.metrics.bootstrap.interval.

Mean opinion score: mean over items of the per-item mean rating (raters averaged per item), with a
seeded percentile-bootstrap CI over items.

Krippendorff's alpha: the coincidence-matrix form (Krippendorff 2011, "Computing Krippendorff's
alpha-reliability"), alpha = 1 - D_o / D_e, for nominal, ordinal and interval data; units with
fewer than two ratings are not pairable and are dropped.
"""
from __future__ import annotations

import numpy as np

from sentinel.metrics.bootstrap import interval

BT_RIDGE = 1e-3
OUTCOMES = ("a", "b", "tie")


def vote_counts(votes: list[tuple[int, int, str]], n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """(wins[i, j] = times i beat j, ties[i, j] symmetric) from (index_a, index_b, outcome) triples."""
    wins = np.zeros((n_models, n_models))
    ties = np.zeros((n_models, n_models))
    for a, b, outcome in votes:
        if a == b:
            raise ValueError(f"vote compares model index {a} with itself")
        if outcome == "a":
            wins[a, b] += 1
        elif outcome == "b":
            wins[b, a] += 1
        elif outcome == "tie":
            ties[a, b] += 1
            ties[b, a] += 1
        else:
            raise ValueError(f"vote outcome {outcome!r}: expected one of {OUTCOMES}")
    return wins, ties


def _pair_terms(theta: np.ndarray, log_nu: float):
    """Per pair (i<j): outcome probabilities p_i, p_j, p_tie (Davidson) and the pair index arrays."""
    i, j = np.triu_indices(theta.size, 1)
    logits = np.stack([theta[i], theta[j], log_nu + (theta[i] + theta[j]) / 2], axis=1)
    log_d = np.logaddexp.reduce(logits, axis=1)
    return i, j, np.exp(logits - log_d[:, None]), log_d


def _newton_terms(x: np.ndarray, wins: np.ndarray, ties: np.ndarray, fit_nu: bool):
    """Negative log-likelihood, gradient and Hessian in (theta, log nu).

    log D is a log-sum-exp of linear functions of (theta_i, theta_j, log nu) with coefficient rows
    a_i = (1, 0, 0), a_j = (0, 1, 0), a_tie = (1/2, 1/2, 1); its gradient is E_p[a] and its Hessian
    Cov_p[a]. The objective is therefore convex, and Newton's method converges in a few steps.
    """
    k = wins.shape[0]
    theta, log_nu = x[:k], (x[k] if fit_nu else -np.inf)
    i, j, p, log_d = _pair_terms(theta, log_nu)
    n = (wins + wins.T + ties)[i, j]
    t = ties[i, j]
    a = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 1.0]])
    f = -(wins.sum(axis=1) @ theta + (t * (theta[i] + theta[j]) / 2).sum() - (n * log_d).sum()) \
        + BT_RIDGE * theta @ theta
    if fit_nu:
        f -= t.sum() * log_nu
    mean = p @ a                                         # (pairs, 3)
    second = np.einsum("pk,kr,ks->prs", p, a, a)          # E[a a^T]
    cov = n[:, None, None] * (second - mean[:, :, None] * mean[:, None, :])
    idx = np.stack([i, j, np.full_like(i, k)], axis=1)   # where each coordinate lives in x
    m = k + 1
    grad = np.zeros(m)
    np.add.at(grad, idx, n[:, None] * mean)
    grad[:k] -= wins.sum(axis=1) + ties.sum(axis=1) / 2 - 2 * BT_RIDGE * theta
    grad[k] -= t.sum()
    hess = np.zeros((m, m))
    np.add.at(hess, (idx[:, :, None], idx[:, None, :]), cov)
    hess[:k, :k] += 2 * BT_RIDGE * np.eye(k)
    if not fit_nu:
        return f, grad[:k], hess[:k, :k]
    return f, grad, hess


def fit_bradley_terry(wins: np.ndarray, ties: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Maximum-likelihood Davidson fit by damped Newton: (centred log-strengths, tie parameter nu).

    Without any tie the MLE has nu = 0 (plain Bradley–Terry) and nu is not fitted."""
    k = wins.shape[0]
    fit_nu = ties.sum() > 0
    x = np.zeros(k + 1 if fit_nu else k)
    f, g, h = _newton_terms(x, wins, ties, fit_nu)
    for _ in range(max_iter):
        step = np.linalg.solve(h, g)
        if g @ step < 1e-12:
            break
        scale = 1.0
        while scale > 1e-8:
            f_new, g_new, h_new = _newton_terms(x - scale * step, wins, ties, fit_nu)
            if f_new <= f - 1e-4 * scale * (g @ step):
                break
            scale /= 2
        x, f, g, h = x - scale * step, f_new, g_new, h_new
    else:
        raise RuntimeError(f"Bradley–Terry fit did not converge in {max_iter} Newton steps (gradient {g})")
    theta = x[:k]
    return theta - theta.mean(), (float(np.exp(x[k])) if fit_nu else 0.0)


def bradley_terry(votes: list[tuple[int, int, str]], n_models: int, seed: int, n_boot: int = 1000,
                  level: float = 0.95) -> dict:
    """Strengths, tie parameter and seeded percentile-bootstrap CIs (at `level`) of the strengths."""
    if not votes:
        raise ValueError("no pairwise votes to fit")
    wins, ties = vote_counts(votes, n_models)
    theta, nu = fit_bradley_terry(wins, ties)
    # Bootstrap by resampling votes: equivalent to a multinomial draw over (a, b, outcome) cells.
    cells, counts = np.unique(np.array([(a, b, OUTCOMES.index(o)) for a, b, o in votes]), axis=0,
                              return_counts=True)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, n_models))
    for i, draw in enumerate(rng.multinomial(len(votes), counts / counts.sum(), size=n_boot)):
        bw, bt = np.zeros_like(wins), np.zeros_like(ties)
        for (a, b, o), c in zip(cells, draw):
            if o == 0:
                bw[a, b] += c
            elif o == 1:
                bw[b, a] += c
            else:
                bt[a, b] += c
                bt[b, a] += c
        boot[i] = fit_bradley_terry(bw, bt)[0]
    lo, hi = interval(boot, level, axis=0)
    return {"strength": theta, "ci": np.stack([lo, hi], axis=1), "ci_level": level, "tie_nu": nu,
            "n_votes": len(votes)}


def mos(per_item: list[list[float]], seed: int, n_boot: int = 1000, level: float = 0.95) -> dict:
    """Mean opinion score (raters averaged per item) with a seeded percentile-bootstrap CI at `level`."""
    means = np.array([np.mean(v) for v in per_item if len(v)], dtype=np.float64)
    if means.size == 0:
        raise ValueError("no ratings to summarise")
    rng = np.random.default_rng(seed)
    boot = means[rng.integers(0, means.size, size=(n_boot, means.size))].mean(axis=1)
    lo, hi = interval(boot, level)
    return {"mean": float(means.mean()), "ci": [lo, hi], "ci_level": level, "n_items": int(means.size)}


def _delta2(values: np.ndarray, counts: np.ndarray, level: str) -> np.ndarray:
    """Squared difference function delta^2(c, k) over the sorted distinct values."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(counts)])
        # sum of n_g for g between c and k inclusive, minus half of n_c and n_k
        between = np.abs(cum[1:][:, None] - cum[:-1][None, :])
        between = np.maximum(between, np.abs(cum[1:][None, :] - cum[:-1][:, None]))
        return (between - (counts[:, None] + counts[None, :]) / 2) ** 2
    raise ValueError(f"krippendorff level {level!r}: expected nominal, ordinal or interval")


def krippendorff_alpha(data: np.ndarray, level: str = "interval") -> float:
    """Alpha for a (raters x units) array with NaN for missing ratings."""
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"krippendorff_alpha: expected a 2-D raters x units array, got shape {data.shape}")
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    data = data[:, pairable]
    values = np.unique(data[~np.isnan(data)])
    if values.size < 2:
        raise ValueError("krippendorff_alpha: fewer than two distinct values among pairable units; alpha undefined")
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((values.size, values.size))  # coincidence matrix
    for unit in data.T:
        vals = [index[v] for v in unit[~np.isnan(unit)]]
        m = len(vals)
        for i, c in enumerate(vals):
            for j, k in enumerate(vals):
                if i != j:
                    o[c, k] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d2 = _delta2(values, n_c, level)
    d_o = (o * d2).sum() / n
    d_e = (np.outer(n_c, n_c) * d2).sum() / (n * (n - 1))
    return float(1.0 - d_o / d_e)

"""CMMD (Jayasumana et al. 2024, "Rethinking FID"): MMD between CLIP image embeddings.

Convention, as in the authors' reference code (google-research/cmmd, distance.py): embeddings are
L2-normalised; the kernel is the Gaussian RBF k(x, y) = exp(-‖x - y‖² / (2σ²)) with σ = 10; the
estimate is 1000 · (mean K_xx + mean K_yy - 2 mean K_xy), means over *all* entries, diagonals
included (the reference code's estimator). The paper's embeddings are CLIP ViT-L/14 at 336 px; we
use the CLIP model configured for the CLIP score (score.clip_arch), recorded beside the number.
Computed in float64.
"""
from __future__ import annotations

import numpy as np

SIGMA = 10.0
SCALE = 1000.0


def normalise(embeddings: np.ndarray) -> np.ndarray:
    e = np.asarray(embeddings, np.float64)
    if e.ndim != 2 or len(e) < 1:
        raise ValueError(f"CMMD needs a non-empty (n, d) embedding matrix, got shape {e.shape}")
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def rbf_kernel(x: np.ndarray, y: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """exp(-‖x - y‖² / (2σ²)) for every row pair, float64."""
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.exp(-np.maximum(sq, 0.0) / (2.0 * sigma ** 2))


def kernels(gen_emb: np.ndarray, ref_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K_gg, K_gr, K_rr) of the normalised embeddings; bootstrap resamples index into these."""
    g, r = normalise(gen_emb), normalise(ref_emb)
    if g.shape[1] != r.shape[1]:
        raise ValueError(f"CMMD embeddings differ in width: {g.shape[1]} vs {r.shape[1]}")
    return rbf_kernel(g, g), rbf_kernel(g, r), rbf_kernel(r, r)


def cmmd_from_kernels(k_gg: np.ndarray, k_gr: np.ndarray, k_rr: np.ndarray) -> float:
    return float(SCALE * (k_gg.mean() + k_rr.mean() - 2.0 * k_gr.mean()))


def cmmd(gen_emb: np.ndarray, ref_emb: np.ndarray) -> float:
    """CMMD between generated and reference CLIP image embeddings (rows are images)."""
    return cmmd_from_kernels(*kernels(gen_emb, ref_emb))


def cmmd_chunked(gen_emb: np.ndarray, ref_emb: np.ndarray) -> float:
    """cmmd() with the kernel means summed in row blocks (fid.kernel_block_sums): for large sets, no
    n x n kernel and no float64 copy of all embeddings is held."""
    from sentinel.metrics import fid  # torch: only when scoring

    if gen_emb.shape[1] != ref_emb.shape[1]:
        raise ValueError(f"CMMD embeddings differ in width: {gen_emb.shape[1]} vs {ref_emb.shape[1]}")
    kern = lambda x, y: rbf_kernel(normalise(x), normalise(y))  # noqa: E731
    n, m = len(gen_emb), len(ref_emb)
    gg, gr, rr = (fid.kernel_block_sums(a, b, kern, same=a is b)[0] for a, b in
                  ((gen_emb, gen_emb), (gen_emb, ref_emb), (ref_emb, ref_emb)))
    return float(SCALE * (gg / n ** 2 + rr / m ** 2 - 2.0 * gr / (n * m)))


def convention(clip_arch: str) -> dict:
    return {"definition": "1000 * MMD^2 (V-statistic, diagonals included, as google-research/cmmd) of "
                          "L2-normalised CLIP image embeddings, Gaussian RBF sigma 10",
            "embeddings": f"open_clip {clip_arch} image tower (paper: ViT-L/14 at 336 px)",
            "dtype": "float64"}

"""Collapse across seeds: exact duplicates (same PNG bytes) and near-duplicates (perceptual hash).

A model that returns near-identical images for different jobs (different seeds and prompts) is
collapsing. The near-duplicate test is a 64-bit difference hash (dHash: 9x8 grayscale, PIL bicubic,
one bit per horizontal gradient sign); two images are near-duplicates when their hashes differ in
at most NEAR_BITS of 64 bits.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

NEAR_BITS = 4


def dhash(rgb: np.ndarray) -> int:
    small = np.asarray(Image.fromarray(rgb).convert("L").resize((9, 8), Image.BICUBIC), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def duplicate_flags(sha256s: list[str], hashes: list[int], near_bits: int = NEAR_BITS) -> tuple[list[bool], list[bool]]:
    """Per image: (has an exact duplicate in the set, has a near duplicate in the set)."""
    n = len(hashes)
    exact = [sha256s.count(s) > 1 for s in sha256s]
    near = [False] * n
    for i in range(n):
        for j in range(i + 1, n):
            if bin(hashes[i] ^ hashes[j]).count("1") <= near_bits:
                near[i] = near[j] = True
    return exact, near

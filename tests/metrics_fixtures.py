"""Fixtures for the metric tests: smoke weight files and small PNG sets of real photos.

Imported by tests/test_metrics_*.py (tests/conftest.py belongs to the whole suite). Everything is
session-scoped because InceptionV3 runs at about 10 images per second on 2 CPU cores.

Image sets (64 x 64 RGB PNGs made from scikit-image's bundled LFW faces, PIL bicubic upscale):
  faces_a         30 faces
  faces_b         30 other faces
  faces_b_noise8  faces_b plus Gaussian pixel noise, sigma 8 (seeded)
  faces_b_noise32 faces_b plus Gaussian pixel noise, sigma 32 (seeded)
  uniform_noise   30 images of uniform random pixels (seeded)
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

N_PER_SET = 30
SIZE = 64


def _faces() -> np.ndarray:
    import skimage.data

    faces = skimage.data.lfw_subset()[:100]  # the first 100 of 200 are faces, float in [0, 1]
    return (faces * 255).round().astype(np.uint8)


def _face_rgb(face: np.ndarray) -> np.ndarray:
    img = Image.fromarray(face).resize((SIZE, SIZE), Image.BICUBIC).convert("RGB")
    return np.asarray(img)


def _add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img.astype(np.float64) + rng.normal(0.0, sigma, img.shape), 0, 255).round().astype(np.uint8)


def _write(folder: Path, arrays: list[np.ndarray]) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i, arr in enumerate(arrays):
        paths.append(folder / f"{i:03d}.png")
        Image.fromarray(arr).save(paths[-1])
    return paths


def make_image_sets(root: Path) -> dict[str, list[Path]]:
    faces = [_face_rgb(f) for f in _faces()]
    a, b = faces[:N_PER_SET], faces[N_PER_SET:2 * N_PER_SET]
    rng = np.random.default_rng(1234)
    arrays = {
        "faces_a": a,
        "faces_b": b,
        "faces_b_noise8": [_add_noise(x, 8, rng) for x in b],
        "faces_b_noise32": [_add_noise(x, 32, rng) for x in b],
        "uniform_noise": [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(N_PER_SET)],
    }
    return {name: _write(root / name, arrs) for name, arrs in arrays.items()}


@pytest.fixture(scope="session")
def smoke_weights(tmp_path_factory) -> dict[str, Path]:
    """Both smoke weight files, written by the CLI exactly as `make bench` does."""
    from sentinel.metrics import weights

    out = tmp_path_factory.mktemp("weights")
    assert weights.main(["--out", str(out)]) == 0
    return {"dir": out, "inception": out / weights.INCEPTION_SMOKE_FILE,
            "clip": out / weights.clip_smoke_file(weights.SMOKE_CLIP_ARCH), "dinov2": out / weights.DINOV2_SMOKE_FILE}


@pytest.fixture(scope="session")
def inception_weights(smoke_weights) -> Path:
    return smoke_weights["inception"]


@pytest.fixture(scope="session")
def clip_weights(smoke_weights) -> Path:
    return smoke_weights["clip"]


@pytest.fixture(scope="session")
def image_sets(tmp_path_factory) -> dict[str, list[Path]]:
    return make_image_sets(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="session")
def feature_cache():
    from sentinel.metrics.compute import FeatureCache

    return FeatureCache()


@pytest.fixture(scope="session")
def features(image_sets, inception_weights, feature_cache) -> dict[str, np.ndarray]:
    """Inception features of every image set, computed once per session (batch size 16)."""
    from sentinel.metrics.compute import inception_features_cached

    return {name: inception_features_cached(paths, weights_path=str(inception_weights), batch_size=16,
                                            cache=feature_cache)
            for name, paths in image_sets.items()}

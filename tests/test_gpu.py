"""The `gpu` lane: tiny pipelines and scoring on CUDA, held against the same work on the CPU.

Skipped where no CUDA device is visible (tests/conftest.py). Bytes may differ between CPU and GPU
kernels, so images are compared by pixel statistics and features within a stated tolerance, and
the CUDA run is compared with itself byte for byte (determinism on one platform).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sentinel.workloads.jobs import Job

pytestmark = pytest.mark.gpu
JOB = Job(id="g1", category="c", prompt="studio headshot, soft light", negative_prompt="", seed=5,
          width=64, height=64, steps=4, guidance=5.0)


@pytest.fixture(scope="module")
def cuda_model(model_cfgs):
    from sentinel.models import loader

    return loader.load(dataclasses.replace(model_cfgs["tiny-sd"], device="cuda", dtype="float32"))


def test_tiny_pipeline_on_cuda_is_deterministic_and_close_to_cpu(cuda_model, model_cfgs):
    from sentinel.models import loader

    a = np.asarray(cuda_model.generate(JOB), dtype=np.int16)
    b = np.asarray(cuda_model.generate(JOB), dtype=np.int16)
    assert a.shape == (64, 64, 3) and np.array_equal(a, b), "CUDA run is not deterministic for one job"
    cpu = np.asarray(loader.load(model_cfgs["tiny-sd"]).generate(JOB), dtype=np.int16)
    # float32 on both; kernels differ, so allow a few levels of mean absolute difference, not bytes
    assert np.abs(a - cpu).mean() < 3.0


def test_scoring_on_cuda_matches_cpu(tmp_path, root):
    import torch

    from sentinel.images import encode_png
    from sentinel.metrics import fid

    rng = np.random.default_rng(0)
    paths = []
    for i in range(8):
        p = tmp_path / f"{i}.png"
        p.write_bytes(encode_png(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
        paths.append(p)
    weights = root / "weights/inception-smoke.pt"
    cpu = fid.inception_features(paths, weights_path=weights, batch_size=4, device="cpu")
    gpu = fid.inception_features(paths, weights_path=weights, batch_size=4, device="cuda")
    assert torch.cuda.is_available() and gpu.shape == cpu.shape
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)
    assert abs(fid.fid_from_features(gpu[:4], gpu[4:]) - fid.fid_from_features(cpu[:4], cpu[4:])) < 1e-2

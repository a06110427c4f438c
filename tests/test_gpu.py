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


def test_score_device_cuda_features_agree_with_cpu(tmp_path, root):
    """score.device: both extractors (Inception, CLIP image tower) and the CLIP text tower on CUDA agree
    with the CPU within the stated tolerance (float32 on both, kernels differ: rtol 1e-3, atol 1e-4
    on the features; FID, KID and CMMD within 1e-3 relative), and the cache keeps them apart."""
    from sentinel.images import encode_png
    from sentinel.metrics import weights as w
    from sentinel.metrics.cache import FeatureCache
    from sentinel.metrics.compute import score_set
    from sentinel.metrics.extract import clip_image_extractor, device_label, extract, inception_extractor, resolve_device

    assert resolve_device("auto") == "cuda" and "cuda" in device_label("cuda")
    rng = np.random.default_rng(1)
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for folder, n in ((gen, 8), (ref, 8)):
        folder.mkdir()
        for i in range(n):
            (folder / f"{i}.png").write_bytes(encode_png(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    inc, clip = root / "weights" / w.INCEPTION_SMOKE_FILE, root / "weights" / w.clip_smoke_file("ViT-B-32")
    paths = sorted(gen.glob("*.png"))
    cache = FeatureCache()
    feats = {d: extract(paths, [inception_extractor(inc, 4, d), clip_image_extractor("ViT-B-32", clip, 4, d)], cache)
             for d in ("cpu", "cuda")}
    assert cache.computed == 2 * 2 * len(paths)  # the device is in the namespace: nothing shared
    for cpu_f, gpu_f in zip(feats["cpu"], feats["cuda"]):
        np.testing.assert_allclose(gpu_f, cpu_f, rtol=1e-3, atol=1e-4)
    kw = dict(inception_weights=str(inc), clip_arch="ViT-B-32", clip_weights=str(clip), batch_size=4,
              kid_subset_size=3, kid_subsets=5, seed=0, bootstrap_samples=20)
    prompts = [f"a photo {i}" for i in range(len(paths))]
    res = {d: score_set(paths, prompts, sorted(ref.glob("*.png")), cache=FeatureCache(), device=d, **kw)
           for d in ("cpu", "cuda")}
    for key in [k for k in ("fid", "kid", "kid_full", "cmmd", "clip_score") if k in res["cpu"]]:
        assert res["cuda"][key] == pytest.approx(res["cpu"][key], rel=1e-3, abs=1e-6), key

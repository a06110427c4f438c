"""The on-disk feature cache: one decode per image per pass, nothing recomputed the second time,
reference statistics keyed by content, and never a changed number."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from sentinel.metrics.cache import FeatureCache
from sentinel.metrics.compute import score_set
from sentinel.metrics.extract import clip_image_extractor, extract, inception_extractor

pytest_plugins = ["metrics_fixtures"]
CLIP_ARCH = "ViT-B-32"


@pytest.fixture(scope="module")
def kwargs(inception_weights, clip_weights):
    return dict(inception_weights=str(inception_weights), clip_arch=CLIP_ARCH, clip_weights=str(clip_weights),
                batch_size=4, kid_subset_size=3, kid_subsets=5, seed=0, bootstrap_samples=50)


@pytest.fixture(scope="module")
def small_sets(image_sets):
    return image_sets["faces_b_noise32"][:5], image_sets["faces_a"][:6]


@pytest.fixture(scope="module")
def first_pass(tmp_path_factory, small_sets, kwargs):
    """Score once into an empty on-disk cache."""
    cache_dir = tmp_path_factory.mktemp("cache")
    gen, ref = small_sets
    cache = FeatureCache(cache_dir)
    result = score_set(gen, [f"a face {i}" for i in range(5)], ref, cache=cache, **kwargs)
    return cache_dir, cache, result


def test_first_pass_decodes_each_image_once_for_both_extractors(first_pass):
    _, cache, _ = first_pass
    assert cache.decoded == 5 + 6                 # Inception and CLIP shared one decode per image
    assert cache.computed == 2 * (5 + 6) + 5      # both extractors per image, plus 5 prompts


def test_second_pass_in_a_new_process_state_recomputes_nothing(first_pass, small_sets, kwargs):
    cache_dir, _, result = first_pass
    gen, ref = small_sets
    fresh = FeatureCache(cache_dir)  # nothing in memory: everything must come from disk
    again = score_set(gen, [f"a face {i}" for i in range(5)], ref, cache=fresh, **kwargs)
    assert fresh.computed == 0 and fresh.decoded == 0, fresh.counters()
    assert fresh.stats_hits == 1                  # the reference set came from its cached statistics
    assert again == result                        # the cache never changes a number (exact equality)


def test_cached_result_equals_an_uncached_run(first_pass, small_sets, kwargs):
    _, _, result = first_pass
    gen, ref = small_sets
    assert score_set(gen, [f"a face {i}" for i in range(5)], ref, cache=FeatureCache(), **kwargs) == result


def test_changing_one_reference_image_invalidates_only_what_it_changes(first_pass, small_sets, kwargs, tmp_path):
    cache_dir, _, result = first_pass
    gen, ref = small_sets
    changed = tmp_path / "ref"
    changed.mkdir()
    new_ref = [shutil.copy(p, changed / p.name) for p in ref]
    replacement = ref[0].parent.parent / "uniform_noise" / "000.png"
    shutil.copy(replacement, new_ref[0])
    cache = FeatureCache(cache_dir)
    other = score_set(gen, [f"a face {i}" for i in range(5)], new_ref, cache=cache, **kwargs)
    assert cache.stats_hits == 0                  # new content hash: the cached statistics do not apply
    assert cache.decoded == 1 and cache.computed == 2  # only the new image, once per extractor
    assert other["fid"] != result["fid"]


def test_a_new_extractor_computes_only_its_own_features(first_pass, small_sets, inception_weights, clip_weights):
    cache_dir, _, _ = first_pass
    gen, _ = small_sets
    cache = FeatureCache(cache_dir)
    inc = inception_extractor(str(inception_weights), 2)
    other_device_clip = clip_image_extractor(CLIP_ARCH, str(clip_weights), 2, device="cpu")
    object.__setattr__(other_device_clip, "namespace", other_device_clip.namespace + ("variant",))
    f_inc, f_clip = extract(gen, [inc, other_device_clip], cache)
    assert cache.computed == 5 and cache.decoded == 5  # Inception rows all cached; the new namespace is not
    assert f_inc.shape == (5, 2048) and f_clip.shape == (5, 512)
    assert np.array_equal(f_inc, extract(gen, [inc], FeatureCache(cache_dir))[0])


# ---- batched writes: one segment (one fsync) per flush, and a kill never leaves a bad row ----------
_WRITER = """
import sys, numpy as np
from sentinel.metrics.cache import FeatureCache
cache = FeatureCache(sys.argv[1])
for i in range(100000):
    cache.put(("ns",), f"{i:08d}", np.full(2048, i, np.float32))
    if i % 256 == 255:
        cache.flush()
        print(i + 1, flush=True)
"""


def test_rows_are_written_as_one_segment_per_flush(tmp_path):
    cache = FeatureCache(tmp_path)
    for i in range(10):
        cache.put(("ns",), f"k{i}", np.full(4, i, np.float32))
    assert not list(tmp_path.rglob("*.npz"))      # nothing written before the flush
    cache.flush()
    assert len(list(tmp_path.rglob("*.npz"))) == 1 and cache.segments_written == 1
    fresh = FeatureCache(tmp_path)
    assert [float(fresh.get(("ns",), f"k{i}")[0]) for i in range(10)] == list(range(10))
    assert fresh.disk_hits == 10 and fresh.get(("ns",), "absent") is None


def test_a_killed_writer_never_leaves_a_row_that_reads_wrong(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    flushed = [int(proc.stdout.readline()) for _ in range(6)]  # six whole segments on disk, then kill mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fresh = FeatureCache(tmp_path)
    found = 0
    for i in range(flushed[-1] + 2048):
        row = fresh.get(("ns",), f"{i:08d}")
        if row is not None:
            assert row.shape == (2048,) and np.all(row == i), f"row {i} read back wrong"
            found += 1
    assert found >= flushed[-1] and found % 256 == 0  # whole segments only


def test_a_torn_segment_is_ignored_and_recomputed(tmp_path, caplog):
    cache = FeatureCache(tmp_path)
    for i in range(8):
        cache.put(("ns",), f"k{i}", np.full(16, i, np.float32))
    cache.flush()
    (seg,) = tmp_path.rglob("*.npz")
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])  # what a non-atomic writer leaves
    (seg.parent / f".{seg.name}.abc.tmp").write_bytes(b"partial")
    fresh = FeatureCache(tmp_path)
    assert fresh.missing(("ns",), [f"k{i}" for i in range(8)]) == [f"k{i}" for i in range(8)]
    assert "ignoring unreadable segment" in caplog.text

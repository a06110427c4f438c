"""Production checks against ground truth: real face photos, synthetic backgrounds, CIEDE2000's
published test pairs, and sets with known duplicates."""
from __future__ import annotations

import numpy as np
import pytest

from sentinel.checks import background, colour, duplicates, faces, summary

cv2 = pytest.importorskip("cv2")


def _lfw_faces() -> list[np.ndarray]:
    """scikit-image's LFW subset: 100 face crops (25 x 25 grey). The crops cut the face outline, which
    the Haar cascade needs, so each is upscaled (bicubic) to 100 px and padded 25 px by edge
    replication: 150 px images, a face of ~100 px (the detector's stated range starts at 24 px)."""
    from skimage.data import lfw_subset

    out = []
    for img in lfw_subset()[:100]:
        g = cv2.resize((img * 255).astype(np.uint8), (100, 100), interpolation=cv2.INTER_CUBIC)
        g = cv2.copyMakeBorder(g, 25, 25, 25, 25, cv2.BORDER_REPLICATE)
        out.append(np.repeat(g[..., None], 3, axis=2))
    return out


def test_exactly_one_face_in_at_least_90_percent_of_lfw_photos():
    counts = [faces.detect(img).count for img in _lfw_faces()]
    assert np.mean(np.array(counts) == 1) >= 0.90, np.bincount(counts)


def test_no_face_in_noise():
    rng = np.random.default_rng(0)
    assert [faces.detect(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).count for _ in range(20)] == [0] * 20


def test_face_framing_measures_a_centred_face_as_large_and_central():
    f = faces.detect(_lfw_faces()[0])
    assert f.count == 1 and 0.2 < f.area_fraction < 0.9 and f.centre_offset < 0.2


def _product(bg) -> np.ndarray:
    img = bg.copy()
    img[40:88, 44:84] = (120, 40, 30)  # a centred product
    return img


def test_background_purity_passes_white_and_fails_textured_or_tinted():
    white = _product(np.full((128, 128, 3), 255, dtype=np.uint8))
    rng = np.random.default_rng(1)
    textured = _product(rng.integers(150, 256, (128, 128, 3), dtype=np.uint8))
    cream = _product(np.full((128, 128, 3), (250, 235, 200), dtype=np.uint8))  # bright but not white
    assert background.purity(white) == 1.0
    assert background.purity(textured) < 0.5
    assert background.purity(cream) == 0.0


@pytest.mark.parametrize("lab1,lab2,expected", [  # Sharma, Wu & Dalal (2005), Table 1, pairs 1-3 and 7
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
])
def test_ciede2000_matches_the_published_test_pairs(lab1, lab2, expected):
    assert colour.delta_e00(lab1, lab2) == pytest.approx(expected, abs=5e-5)


def test_colour_difference_of_a_product_with_itself_is_zero_and_red_vs_blue_is_large():
    white = np.full((128, 128, 3), 255, dtype=np.uint8)
    red, blue = white.copy(), white.copy()
    red[40:88, 40:88], blue[40:88, 40:88] = (200, 20, 20), (20, 20, 200)
    assert colour.colour_difference(red, red) == pytest.approx(0.0, abs=1e-9)
    assert colour.colour_difference(red, blue) > 30


def test_duplicate_check_flags_repeats_and_near_repeats_only():
    rng = np.random.default_rng(2)
    distinct = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(6)]
    near = np.clip(distinct[1].astype(int) + rng.integers(-1, 2, distinct[1].shape), 0, 255).astype(np.uint8)
    images = [*distinct, distinct[0], near]
    shas = [f"s{i}" for i in range(6)] + ["s0", "s7"]
    exact, close = duplicates.duplicate_flags(shas, [duplicates.dhash(i) for i in images])
    assert exact == [True, False, False, False, False, False, True, False]
    assert close == [True, True, False, False, False, False, True, True]
    none = duplicates.duplicate_flags(shas[:6], [duplicates.dhash(i) for i in distinct])
    assert none == ([False] * 6, [False] * 6)


def test_wilson_interval_matches_its_closed_form():
    lo, hi = summary.wilson(8, 10, 0.95)  # Wilson (1927) for 8/10, z = 1.959964: [0.4902, 0.9433]
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert summary.wilson(0, 0, 0.95) is None


def test_mean_interval_does_not_depend_on_row_order():
    values = {f"j{i}": float(i) for i in range(20)}
    shuffled = dict(reversed(list(values.items())))
    assert summary.mean(values, 0.95) == summary.mean(shuffled, 0.95)


def test_check_model_counts_failed_jobs_as_failing_and_reports_n(tmp_path):
    from sentinel.checks.run import check_model
    from PIL import Image

    from sentinel.images import encode_png

    lfw = _lfw_faces()
    white = _product(np.full((128, 128, 3), 255, dtype=np.uint8))
    (tmp_path / "m").mkdir()
    records, jobs = [], {}
    for i, img in enumerate([lfw[0], lfw[1], None]):  # the third headshot job failed
        job = f"hs-{i}"
        jobs[job] = {"prompt": "headshot", "attributes": {}}
        rec = {"model": "m", "job_id": job, "category": "corporate_headshot", "status": "ok" if img is not None
               else "failed", "image": f"m/{job}.png" if img is not None else None, "sha256": f"h{i}"}
        if img is not None:
            (tmp_path / rec["image"]).write_bytes(encode_png(Image.fromarray(img)))
        records.append(rec)
    jobs["ep-0"] = {"prompt": "product on a pure white background", "attributes": {}}
    (tmp_path / "m/ep-0.png").write_bytes(encode_png(Image.fromarray(white)))
    records.append({"model": "m", "job_id": "ep-0", "category": "ecommerce_product", "status": "ok",
                    "image": "m/ep-0.png", "sha256": "p0"})
    out = check_model(records, tmp_path, jobs, tmp_path)
    checks = out["checks"]
    assert out["n_failed"] == 1 and out["n_jobs"] == 4
    assert checks["headshot_one_face"]["n"] == 3 and checks["headshot_one_face"]["value"] == pytest.approx(2 / 3)
    assert checks["product_white_background"]["value"] == 1.0
    assert checks["duplicate_exact"]["value"] == 0.0 and checks["duplicate_exact"]["n"] == 3
    assert checks["product_colour_delta_e00"]["n"] == 0  # no reference product in these jobs

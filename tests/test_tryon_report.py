"""The try-on report stage (sentinel.tryon.report_stage) and the cost per try-on (sentinel.tryon.cost).

Two models (one self-hosted, one API at a list price) on two paired and two unpaired jobs, one
job failed: the report lists every triptych (each equal to person | garment | result put side by
side by hand), both protocols' tables with n, the cost per try-on equal to the price card's formula
worked by hand, p95 latency with its CI, failures by cause and "plumbing only"; a rerun gives the
same bytes; a missing input fails naming the file and writes nothing.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sentinel.images import decode_rgb
from sentinel.tryon import report_stage, score_stage
from tryon_project import make_project

MODELS = ("tiny-a", "tiny-b")
JOBS = ("p00", "p01", "u02", "u03")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    params = make_project(tmp_path_factory.mktemp("report"), models=MODELS, paired=2, unpaired=2,
                          failed={"u03": "timeout: vendor gave no result in 60 s"}, api={"tiny-b": 0.05})
    for m in MODELS:
        score_stage.run(params, m)
    board = report_stage.run(params)
    return params, Path(params).parent, board


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "reports").rglob("*")) if p.is_file()}


def test_every_triptych_is_listed_and_is_person_garment_result_side_by_side(project):
    _, root, board = project
    md, page = (root / "reports/report.md").read_text(), (root / "reports/report.html").read_text()
    assert len(board["triptychs"]) == len(MODELS) * len(JOBS)
    for m in MODELS:
        for job in JOBS:
            path = root / f"reports/triptychs/{m}/{job}.png"
            assert f"](triptychs/{m}/{job}.png)" in md and f'data-file="triptychs/{m}/{job}.png"' in page
            gap = np.full((64, 4, 3), 255, np.uint8)
            result = (np.full((64, 64, 3), 128, np.uint8) if job == "u03"  # failed: a grey panel
                      else decode_rgb(root / f"outputs/results/{m}/{job}.png"))
            want = np.concatenate([decode_rgb(root / f"persons/{job}.png"), gap,
                                   decode_rgb(root / f"garments/{job}.png"), gap, result], axis=1)
            assert np.array_equal(decode_rgb(path), want)
    assert "tiny-a / u03 (unpaired): failed (timeout: vendor gave no result in 60 s)" in md
    assert page.count("<figure ") == len(MODELS) * len(JOBS) and page.count("data:image/png;base64,") == 8


def test_both_protocols_are_tabled_with_n_and_the_outputs_say_plumbing_only(project):
    _, root, board = project
    md, page = (root / "reports/report.md").read_text(), (root / "reports/report.html").read_text()
    assert "PLUMBING ONLY" in md and "PLUMBING ONLY" in page and board["plumbing"] is True
    assert board["note"].startswith("plumbing only")
    paired = md.split("## Paired protocol")[1].split("## Unpaired protocol")[0]
    unpaired = md.split("## Unpaired protocol")[1].split("## Cost")[0]
    for m in MODELS:
        row = next(line for line in paired.splitlines() if line.startswith(f"| {m} |"))
        assert row.count("(n=2") == 8 and "SSIM" in paired and "LPIPS" in paired  # 8 metrics, 2 jobs each
        row = next(line for line in unpaired.splitlines() if line.startswith(f"| {m} |"))
        assert row.count("(n=1") == 6  # FID, KID, 2 garment and 2 preservation metrics, 1 successful job
    header = next(line for line in unpaired.splitlines() if line.startswith("| model |"))
    assert "| SSIM" not in header and "LPIPS" not in header and "| FID ↓ |" in header
    rows = {r["model"]: r for r in board["models"]}
    assert [r["model"] for r in board["models"]] == list(MODELS)
    a = rows["tiny-a"]
    assert a["protocols"]["paired"]["metrics"]["ssim"]["n"] == 2 and a["protocols"]["paired"]["metrics"]["fid"]["m_reference"] == 2
    assert a["protocols"]["unpaired"]["metrics"]["fid"]["value"] is None  # one successful unpaired job: says why
    assert "need >= 2" in a["protocols"]["unpaired"]["metrics"]["fid"]["not_computed"] and "need >= 2" in md
    assert a["failures_by_cause"]["generate"] == {"timeout": 1} and a["n_failed"] == 1
    assert a["latency_p95_s"] == 2.0 and a["latency_p95_ci"] == [1.5, None] and rows["tiny-b"]["latency_p95_s"] == 3.0
    flat = json.loads((root / "reports/metrics.json").read_text())
    assert set(flat) == set(MODELS)
    assert flat["tiny-a"]["paired_ssim_n"] == 2 and flat["tiny-a"]["latency_p95_ci_low"] == 1.5
    assert all(isinstance(v, int | float) for m in flat.values() for v in m.values())


def test_cost_per_tryon_is_the_price_cards_formula(project):
    """Self-hosted: ((mean compute_s of the successful try-ons / utilisation) / 3600 * $/h + overhead)
    * (1 + fee), worked by hand from the card; API: (list price + overhead) * (1 + fee)."""
    import yaml

    params, _, board = project
    card = yaml.safe_load(Path(params).read_text())["cost"]
    rows = {r["model"]: r for r in board["models"]}
    compute_s = np.mean([1.0, 1.01, 1.02])  # u03 (1.03 s) failed: not a try-on
    want = ((compute_s / card["utilisation"]) / 3600 * card["price_usd_per_hour"]
            + card["orchestration_overhead_usd_per_image"]) * (1 + card["platform_fee_fraction"])
    assert rows["tiny-a"]["cost_usd_per_tryon"] == pytest.approx(want, rel=1e-12)
    assert rows["tiny-a"]["cost"]["billing"] == "gpu time" and rows["tiny-a"]["cost"]["priced_as_measured"] is False
    api = (0.05 + card["orchestration_overhead_usd_per_image"]) * (1 + card["platform_fee_fraction"])
    assert rows["tiny-b"]["cost_usd_per_tryon"] == pytest.approx(api, rel=1e-12)
    assert rows["tiny-b"]["cost"]["billing"] == "list price"


def test_a_rerun_gives_the_same_bytes_and_a_missing_input_names_the_file(project):
    params, root, _ = project
    before = _outputs(root)
    report_stage.run(params)
    assert _outputs(root) == before
    latency = root / "outputs/latency/tiny-b/latency.json"
    shutil.move(latency, root / "latency.json.away")
    try:
        with pytest.raises(score_stage.TryOnInputError, match=rf"{latency}: latency of 'tiny-b'"):
            report_stage.run(params)
    finally:
        shutil.move(root / "latency.json.away", latency)
    assert _outputs(root) == before  # nothing was written


def test_an_api_model_without_a_list_price_is_unpriced_and_cuda_seconds_count_as_measured(smoke_params):
    from sentinel import config
    from sentinel.tryon import cost

    card = config.section({"cost": smoke_params["cost"]}, "cost", "params.yaml")
    records = {"a": {"status": "ok"}, "b": {"status": "failed"}}
    timings = [{"job_id": "a", "compute_s": 2.0, "device": "cuda:0", "load_s": 30.0},
               {"job_id": "b", "compute_s": 0.1, "device": "cuda:0", "load_s": 30.0}]
    api = cost.tryon_cost("vendor-x", {"source": "api"}, [], records, card, {})
    assert api["cost_usd_per_tryon"] is None and "list_price_usd_per_image.vendor-x" in api["not_measured"]
    gpu = cost.tryon_cost("m", {"source": "pretrained"}, timings, records, card, {})
    billed_s = 2.0 / card.utilisation + 30.0 / card.images_per_cold_start  # the failed job's 0.1 s is left out
    assert gpu["billed_s_per_tryon"] == pytest.approx(billed_s, rel=1e-12) and gpu["priced_as_measured"] is True
    assert "note" not in gpu and [s["utilisation"] for s in gpu["sensitivity"]] == list(card.utilisation_sensitivity)


def test_a_triptych_scales_every_panel_to_the_person_height_capped_at_256(tmp_path):
    from PIL import Image

    from sentinel.images import encode_png
    from sentinel.tryon import triptych

    person, garment = tmp_path / "person.png", tmp_path / "garment.png"
    person.write_bytes(encode_png(Image.new("RGB", (300, 400), (10, 20, 30))))
    garment.write_bytes(encode_png(Image.new("RGB", (100, 80), (200, 0, 0))))
    png = triptych.triptych(person, garment, None)
    img = decode_rgb_bytes(png)
    assert img.shape == (256, 192 + 4 + 320 + 4 + 192, 3)  # 300x400 -> 192x256, 100x80 -> 320x256
    assert (img[:, -192:] == 128).all() and (img[:, 192:196] == 255).all()
    assert png == triptych.triptych(person, garment, None)  # same bytes every time


def decode_rgb_bytes(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

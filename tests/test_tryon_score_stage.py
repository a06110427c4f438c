"""The try-on score stage end to end (sentinel.tryon.score_stage; rubrics/tryon-metrics.md).

On a fixture whose results equal the ground truth the closed forms hold: paired SSIM 1, LPIPS 0,
preservation MAE 0 and masked SSIM 1, garment ΔE00 0 (the garment worn in its own colour), FID 0
and KID equal to sentinel.metrics' own on the same files. A perturbed fixture moves every metric
the wrong way; a failed job is counted by cause and leaves every n. Reversing the records changes
no byte. Bad inputs fail naming the file before any network runs.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sentinel.tryon import score_stage
from tryon_project import make_project

MODEL = "tiny-tryon"


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    params = make_project(tmp_path_factory.mktemp("truth"), paired=4, unpaired=2)
    return params, score_stage.run(params, MODEL)


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    params = make_project(tmp_path_factory.mktemp("perturbed"), paired=3, unpaired=1, results="perturbed",
                          failed={"p01": "GenerationFailed: CUDA out of memory"})
    return params, score_stage.run(params, MODEL)


def _m(doc, protocol, name):
    return doc["protocols"][protocol]["metrics"][name]


def test_results_equal_to_the_ground_truth_give_the_closed_forms(truth):
    _, doc = truth
    for protocol, n in (("paired", 4), ("unpaired", 2)):
        assert _m(doc, protocol, "preserved_mae")["value"] == 0.0 and _m(doc, protocol, "preserved_mae")["n"] == n
        assert _m(doc, protocol, "preserved_ssim")["value"] == pytest.approx(1.0, abs=1e-12)
        assert _m(doc, protocol, "garment_delta_e00")["value"] == pytest.approx(0.0, abs=1e-9)
        lo, hi = _m(doc, protocol, "preserved_ssim")["ci"]
        assert lo <= _m(doc, protocol, "preserved_ssim")["value"] <= hi
    assert _m(doc, "paired", "ssim")["value"] == pytest.approx(1.0, abs=1e-12) and _m(doc, "paired", "ssim")["n"] == 4
    assert _m(doc, "paired", "lpips")["value"] == 0.0 and _m(doc, "paired", "lpips")["n"] == 4
    assert "ssim" not in doc["protocols"]["unpaired"]["metrics"]  # no ground truth in the unpaired protocol
    assert "lpips" not in doc["protocols"]["unpaired"]["metrics"]
    assert doc["n_failed"] == 0 and doc["failures_by_cause"] == {}


def test_fid_and_kid_are_computed_on_the_protocols_sets(truth):
    """Paired: results == ground truth, so FID(X, X) = 0; n and m are the successful jobs and the whole
    paired reference. Unpaired: 2 results against the 6 person photos of the workload, no interval below 4."""
    _, doc = truth
    fid, kid = _m(doc, "paired", "fid"), _m(doc, "paired", "kid")
    assert fid["value"] == pytest.approx(0.0, abs=1e-6) and fid["n"] == 4 and fid["m_reference"] == 4
    assert fid["ci"][0] <= fid["value"] <= fid["ci"][1] and kid["ci"][0] <= kid["value"] <= kid["ci"][1]
    assert kid["n"] == 4 and abs(kid["value"]) < 0.05
    unpaired = _m(doc, "unpaired", "fid")
    assert unpaired["n"] == 2 and unpaired["m_reference"] == 6 and unpaired["ci"] is None and unpaired["value"] > 0
    assert "half-sampling needs >= 4" in unpaired["ci_note"]


def test_a_perturbed_result_moves_every_metric_the_wrong_way_and_a_failure_leaves_n(truth, perturbed):
    _, good = truth
    _, bad = perturbed
    assert _m(bad, "paired", "ssim")["value"] < 0.9 * _m(good, "paired", "ssim")["value"]
    assert _m(bad, "paired", "lpips")["value"] > 0.0
    for protocol in ("paired", "unpaired"):
        assert _m(bad, protocol, "preserved_mae")["value"] > 5.0  # noise of ±40 levels outside the mask
        assert _m(bad, protocol, "preserved_ssim")["value"] < 0.9
        assert _m(bad, protocol, "garment_delta_e00")["value"] > 5.0  # the garment's colour shifted by +60
    assert _m(bad, "paired", "fid")["value"] > _m(good, "paired", "fid")["value"] + 1e-3
    # the failed paired job: counted by cause, in no metric's n, still in the FID reference
    paired = bad["protocols"]["paired"]
    assert paired["n_jobs"] == 3 and paired["n_failed"] == 1 and paired["failures_by_cause"] == {"GenerationFailed": 1}
    assert all(m["n"] == 2 for m in paired["metrics"].values())
    assert _m(bad, "paired", "fid")["m_reference"] == 3
    assert bad["failed_jobs"] == ["p01"] and "metrics" not in bad["jobs"]["p01"]
    assert bad["failure_rate"]["value"] == pytest.approx(1 / 4) and bad["failure_rate"]["ci"][0] < 0.25
    assert _m(bad, "unpaired", "fid")["value"] is None and _m(bad, "unpaired", "fid")["n"] == 1  # says why
    assert "need >= 2 images a side" in _m(bad, "unpaired", "fid")["not_computed"]


def test_reversed_records_give_byte_identical_json(truth):
    params, _ = truth
    root = Path(params).parent
    records, out = root / f"outputs/records/{MODEL}.jsonl", root / f"outputs/scores/{MODEL}.json"
    first = out.read_bytes()
    original = records.read_text()
    try:
        records.write_text("".join(reversed(original.splitlines(keepends=True))))
        out.unlink()
        score_stage.run(params, MODEL)
        assert out.read_bytes() == first
    finally:
        records.write_text(original)
    assert json.loads(first)["protocols"]["paired"]["metrics"]["ssim"]["n"] == 4


def test_bad_inputs_fail_before_any_network_naming_the_file(tmp_path):
    import yaml

    params = make_project(tmp_path, paired=1, unpaired=1)
    result = tmp_path / f"outputs/results/{MODEL}/p00.png"
    result.write_bytes(result.read_bytes() + b"\0")  # changed after generate
    with pytest.raises(score_stage.TryOnInputError, match=rf"{result}: sha256 differs"):
        score_stage.run(params, MODEL)
    records = tmp_path / f"outputs/records/{MODEL}.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    records.write_text(lines[0])
    with pytest.raises(score_stage.TryOnInputError, match=rf"{records}: no record for job\(s\) u01"):
        score_stage.run(params, MODEL)
    shutil.move(records, tmp_path / "elsewhere.jsonl")
    with pytest.raises(score_stage.TryOnInputError, match=rf"{records}: records of try-on model"):
        score_stage.run(params, MODEL)
    cfg = yaml.safe_load(params.read_text())
    cfg["tryon"]["score"]["lpips_linear_weights"] = str(tmp_path / "absent.pt")
    params.write_text(yaml.safe_dump(cfg))
    with pytest.raises(score_stage.TryOnInputError, match=r"absent\.pt: weights file named by "
                                                          r"tryon\.score\.lpips_linear_weights not found"):
        score_stage.run(params, MODEL)
    assert not (tmp_path / "outputs/scores").exists()

"""The score stage end to end on real PNGs: failed records skipped and counted, CIs and n for every
metric per model and category, byte-identical metrics.json across runs, and no recomputation on a rerun."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from sentinel import score
from sentinel.metrics import preference
from sentinel.provenance import sha256_file, write_jsonl

from score_project import write_reference_sets

pytest_plugins = ["metrics_fixtures"]
CATEGORIES = ("corporate_headshot", "ecommerce_product", "creative_portrait")
METRICS_WITH_CI = ("fid", "kid", "clip_score", "cmmd")


@pytest.fixture(scope="module")
def project(tmp_path_factory, smoke_params, image_sets, inception_weights, clip_weights):
    """params.yaml pointing at a temp project: 10 generate records of model m (one failed), 3 references per category."""
    root = tmp_path_factory.mktemp("project")
    params = json.loads(json.dumps(smoke_params))
    params["workload"]["categories"] = list(CATEGORIES)
    params["score"].update(inception_weights=str(inception_weights), clip_weights=str(clip_weights),
                           dinov2_weights=str(inception_weights.parent / "dinov2-tiny14-smoke.pt"),
                           cache_dir=str(root / "cache"), bootstrap_samples=50, kid_subsets=5)
    for key in ("data", "images", "records", "score", "ratings"):
        params["paths"][key] = str(root / {"data": "data", "images": "images", "records": "records.jsonl",
                                           "score": "out/metrics.json", "ratings": "out/ratings.jsonl"}[key])
    records = []
    for i, src in enumerate(image_sets["faces_b_noise8"][:10]):
        cat = CATEGORIES[i % 3]
        dest = root / "images" / "m" / f"{i:03d}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)
        rec = {"model": "m", "category": cat, "image": f"m/{i:03d}.png", "prompt": f"a portrait, take {i}",
               "job_id": f"j{i}", "seed": i, "plumbing": True, "sha256": sha256_file(dest)}
        if i == 9:
            rec.update(status="failed", image=None, sha256=None)  # no image on disk: must never be read
        elif i % 2:
            rec["status"] = "ok"  # the others carry no status at all, as records from before statuses
        records.append(rec)
    write_jsonl(root / "records.jsonl", records)
    write_reference_sets(root, image_sets, CATEGORIES, per_category=3)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


@pytest.fixture(scope="module")
def two_runs(project):
    first = score.run(project / "params.yaml")
    first_bytes = (project / "out" / "metrics.json").read_bytes()
    first_stats = json.loads((project / "out" / "cache_stats.json").read_text())
    score.run(project / "params.yaml")
    return first, first_bytes, first_stats, json.loads((project / "out" / "cache_stats.json").read_text())


def test_failed_records_are_skipped_and_counted(two_runs):
    result = two_runs[0]
    m = result["models"]["m"]
    assert m["n_failed"] == 1
    assert m["overall"]["n_generated"] == 9 and m["overall"]["n_reference"] == 9
    assert {c: v["n_generated"] for c, v in m["categories"].items()} == dict.fromkeys(CATEGORIES, 3)


def test_every_metric_has_a_ci_and_n_per_model_and_category(two_runs):
    m = two_runs[0]["models"]["m"]
    for part in [m["overall"], *m["categories"].values()]:
        assert part["ci_level"] == 0.95 and part["bootstrap_samples"] == 50
        for key in METRICS_WITH_CI:
            ci = part["ci"][key]
            if ci["low"] is None:  # half-sample intervals need 4 images a side: said, not faked
                # ... or, overall, a category lacks one (the overall is combined by the mix: metrics/mix.py)
                small = part["n_generated"] < 4 or ci["ci_method"].startswith("none: category")
                assert key != "clip_score" and small and "at least 4" in ci["ci_method"], key
            else:
                assert ci["low"] <= part[key] <= ci["high"], key
            n = ci["n_pairs"] if key == "clip_score" else ci["n_generated"]
            assert n == part["n_generated"], key
        assert part["ci"]["clip_score"]["low"] <= part["clip_score"] <= part["ci"]["clip_score"]["high"]
    assert "cmmd" in two_runs[0]["convention"]


def test_metrics_json_is_byte_identical_and_the_rerun_recomputes_nothing(project, two_runs):
    _, first_bytes, first_stats, second_stats = two_runs
    assert (project / "out" / "metrics.json").read_bytes() == first_bytes
    assert first_stats["computed"] > 0 and first_stats["decoded"] == 9 + 9
    assert second_stats["computed"] == 0 and second_stats["decoded"] == 0, second_stats
    assert "\"computed\":" not in first_bytes.decode() and "\"decoded\":" not in first_bytes.decode()


def test_the_smoke_run_says_plumbing_because_of_its_weights_hashes(project, two_runs, inception_weights):
    """The banner comes from facts (metrics/profile.py): the smoke weights' sha256 and the profile."""
    import hashlib

    from sentinel.provenance import PLUMBING_NOTE

    result = two_runs[0]
    verdict = result["convention"]["profile"]
    digest = hashlib.sha256(inception_weights.read_bytes()).hexdigest()
    assert verdict["plumbing"] and verdict["profile"] == "smoke"
    assert f"score.inception_weights: {inception_weights} has sha256 {digest}, the seeded smoke InceptionV3" \
        " (inception-smoke.pt, seed 0)" in verdict["reasons"]
    assert result["note"] == PLUMBING_NOTE and result["models"]["m"]["plumbing"]


def test_enabled_preference_model_without_weights_stops_the_stage(project, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"].update(preference_models=["hpsv2"], preference_weights_dir=str(tmp_path))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(FileNotFoundError, match="'hpsv2' is enabled but its weights"):
        score.run(tmp_path / "params.yaml")


def test_a_registered_preference_scorer_is_scored_with_a_ci(project, tmp_path, scratch_registries):
    preference.register("brightness", lambda path: lambda imgs, prompts: [float(np.asarray(i.convert("L")).mean())
                                                                         for i in imgs])
    (tmp_path / "brightness").write_bytes(b"weights")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"].update(preference_models=["brightness"], preference_weights_dir=str(tmp_path))
    params["paths"]["score"] = str(tmp_path / "metrics.json")
    params["paths"]["ratings"] = str(tmp_path / "ratings.jsonl")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    overall = score.run(tmp_path / "params.yaml")["models"]["m"]["overall"]
    ci = overall["ci"]["brightness"]  # a plug-in is a metric: overall.<name> and overall.ci.<name>, n_pairs
    assert ci["n_pairs"] == 9 and ci["low"] <= overall["brightness"] <= ci["high"]
    assert len(overall["brightness_per_image"]) == 9

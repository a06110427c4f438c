"""Alignment and preference scorers as plug-ins through the metric registry (metrics/plugins/).

- HPSv2 and PickScore load local files of their published formats (an open_clip `{"state_dict"}`
  checkpoint; a transformers CLIPModel + CLIPProcessor folder), here tiny random builds made locally
  (plugins/tiny.py), and score each pair exactly as the projects' own recipes do (restated below with
  open_clip / transformers directly).
- End to end (the acceptance): a toy plug-in registered in one place (`preference.register`) and the
  real PickScore plug-in on its tiny folder, both switched on by score.preference_models in a temp
  project, reach leaderboard.json and the report's leaderboard with their CIs and n_pairs.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from sentinel import config, score
from sentinel.metrics import preference
from sentinel.metrics.plugins import hpsv2, pickscore, tiny
from sentinel.provenance import sha256_file, to_json, write_jsonl

pytest_plugins = ["metrics_fixtures"]
PROMPTS = ["a corporate headshot of a woman", "a red sneaker on a white background", "a cat"]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8)) for i in range(3)]


@pytest.fixture(scope="module")
def pickscore_folder(tmp_path_factory):
    return tiny.write_tiny_pickscore(tmp_path_factory.mktemp("pref") / "PickScore_v1")


def test_hpsv2_loads_its_published_format_and_scores_as_hpsv2_does(tmp_path, images):
    import open_clip

    path = tiny.write_tiny_hpsv2(tmp_path / "HPS_v2.1_compressed.pt")
    assert set(torch.load(path, weights_only=True)) == {"state_dict"}
    got = hpsv2.load(path, arch=tiny.tiny_hpsv2_arch())(images, PROMPTS)
    model, _, preprocess = open_clip.create_model_and_transforms(tiny.HPSV2_TINY_ARCH, pretrained=None, output_dict=True)
    model.load_state_dict(torch.load(path, weights_only=True)["state_dict"])
    model.eval()
    tok = open_clip.get_tokenizer(tiny.HPSV2_TINY_ARCH)
    want = []
    for img, prompt in zip(images, PROMPTS):  # hpsv2/img_score.py: one pair at a time
        with torch.no_grad():
            out = model(preprocess(img).unsqueeze(0), tok([prompt]))
            want.append(float(torch.diagonal(out["image_features"] @ out["text_features"].T)[0]))
    assert got == pytest.approx(want, abs=1e-6)
    torch.save({"state_dict": {"visual.proj": torch.zeros(1)}}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not an open_clip .* checkpoint in HPSv2's format"):
        hpsv2.load(tmp_path / "bad.pt", arch=tiny.tiny_hpsv2_arch())


def test_pickscore_loads_a_clipmodel_folder_and_scores_as_its_readme_does(pickscore_folder, images):
    import open_clip
    from transformers import AutoModel, AutoProcessor

    got = pickscore.load(pickscore_folder)(images, PROMPTS)
    processor = AutoProcessor.from_pretrained(pickscore_folder, local_files_only=True)
    model = AutoModel.from_pretrained(pickscore_folder, local_files_only=True).eval()
    want = []
    for img, prompt in zip(images, PROMPTS):  # PickScore README: calc_probs, without the softmax
        im = processor(images=[img], return_tensors="pt")
        tx = processor(text=prompt, padding=True, truncation=True, max_length=77, return_tensors="pt")
        with torch.no_grad():
            ie, te = pickscore._embeds(model.get_image_features(**im)), pickscore._embeds(model.get_text_features(**tx))
            ie, te = ie / torch.norm(ie, dim=-1, keepdim=True), te / torch.norm(te, dim=-1, keepdim=True)
            want.append(float((model.logit_scale.exp() * (te @ ie.T))[0, 0]))
    assert got == pytest.approx(want, rel=1e-5)
    # the folder's tokenizer is CLIP's BPE: the same ids as open_clip's tokenizer
    ids = processor(text=PROMPTS[0], return_tensors="pt")["input_ids"][0].tolist()
    ref = open_clip.get_tokenizer("ViT-B-32")([PROMPTS[0]])[0].tolist()
    assert ids == ref[:len(ids)] and all(t == 0 for t in ref[len(ids):])


def _brightness(path):
    """The toy plug-in: mean grey level (a stand-in for a real scorer; its weights file is a token)."""
    return lambda imgs, prompts: [float(np.asarray(i.convert("L"), np.float64).mean()) for i in imgs]


@pytest.fixture
def plugins(scratch_registries):
    preference.register("toy_brightness", _brightness, label="Toy brightness")  # the one registration


def _project(root, smoke_params, image_sets, smoke_weights, weights_dir):
    params = json.loads(json.dumps(smoke_params))
    params["workload"]["categories"] = ["corporate_headshot"]
    params["workload"]["jobs"] = str(root / "jobs.csv")  # six headshot jobs, the records' job ids
    (root / "jobs.csv").write_text("id,category,prompt,negative_prompt,seed,width,height,steps,guidance,arrival_s,"
                                   "attributes\n" + "".join(f"hs-{i:03d},corporate_headshot,a portrait take {i},,{i},"
                                                             f"64,64,4,5.0,{i}.0,\n" for i in range(6)))
    params["score"].update(inception_weights=str(smoke_weights["inception"]), clip_weights=str(smoke_weights["clip"]),
                           dinov2_weights=str(smoke_weights["dinov2"]), cache_dir="", bootstrap_samples=50,
                           kid_subset_size=2, kid_subsets=3, preference_models=["toy_brightness", "pickscore"],
                           preference_weights_dir=str(weights_dir))
    for key, rel in (("data", "data"), ("images", "images"), ("records", "records.jsonl"), ("score", "out/m.json"),
                     ("ratings", "out/ratings.jsonl")):
        params["paths"][key] = str(root / rel)
    records = []
    for i, src in enumerate(image_sets["faces_b_noise8"][:6]):
        dest = root / "images" / "m" / f"{i:03d}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)
        records.append({"model": "m", "category": "corporate_headshot", "image": f"m/{i:03d}.png",
                        "prompt": f"a portrait take {i}", "job_id": f"hs-{i:03d}", "seed": i, "plumbing": True,
                        "sha256": sha256_file(dest)})
    write_jsonl(root / "records.jsonl", records)
    (root / "data" / "reference" / "corporate_headshot").mkdir(parents=True)
    for j, src in enumerate(image_sets["faces_a"][:6]):
        shutil.copy(src, root / "data" / "reference" / "corporate_headshot" / f"{j}.png")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root / "params.yaml"


def _board(overall: dict, params_path) -> dict:
    from sentinel.report.stage import build

    cfg = config.load(params_path, sections=("suite", "model", "report", "paths", "cost"))
    model = next(iter(cfg["model"]))
    cfg["model"] = {model: cfg["model"][model]}
    human = {"likert_mean": 3.0, "likert_ci": [2.8, 3.2], "ci_level": overall["ci_level"], "simulated": True}
    scored = {"models": {model: {"overall": overall, "categories": {}, "human": human, "plumbing": True}},
              "convention": {}}
    card = {k: getattr(cfg["cost"], k) for k in cfg["cost"].__dataclass_fields__}
    return build(cfg, scored, {"models": {}, "price_card": card}, {"models": {}}, [])


@pytest.mark.slow
def test_a_toy_and_a_real_plugin_reach_leaderboard_json_and_the_report_with_cis(
        plugins, tmp_path, smoke_params, image_sets, smoke_weights, pickscore_folder):
    from sentinel.report.markdown import render

    weights_dir = tmp_path / "preference"
    weights_dir.mkdir()
    (weights_dir / "toy_brightness").write_bytes(b"toy")  # the toy's "weights" (a user-registered slot)
    shutil.copytree(pickscore_folder, weights_dir / "PickScore_v1")
    params = _project(tmp_path, smoke_params, image_sets, smoke_weights, weights_dir)
    result = score.run(params)
    overall = result["models"]["m"]["overall"]
    assert set(result["convention"]["plugins"]) == {"toy_brightness", "pickscore"}
    board = _board(overall, params)
    row = json.loads(to_json(board))["models"][0]  # leaderboard.json, as the report stage writes it
    report = render(board, records=[])
    header = next(line for line in report.splitlines() if line.startswith("| # | model |")).split(" | ")
    cells = next(line for line in report.splitlines() if line.startswith("| 1 |")).split(" | ")
    for name, label in (("toy_brightness", "Toy brightness ↑"), ("pickscore", "PickScore ↑"),
                        ("fd_dinov2", "FD-DINOv2 ↓")):
        ci = overall["ci"][name]
        assert ci["low"] <= overall[name] <= ci["high"], name
        assert ci.get("n_pairs", ci.get("n_generated")) == 6, name
        assert row[name] == pytest.approx(overall[name]) and row[f"{name}_ci"] == pytest.approx([ci["low"], ci["high"]])
        assert label in header, (label, header)
        assert cells[header.index(label)].startswith(f"{overall[name]:.3f} ["), (name, cells)
    assert "HPSv2 ↑" not in header  # registered but off: no empty column
    toy = overall["toy_brightness_per_image"]
    assert overall["toy_brightness"] == pytest.approx(np.mean(toy))

"""CONTRIBUTING.md's recipes, followed to the letter in a copy of the project: each one touches only
the files its recipe names, and the result is picked up with no other edit (checked with git status).

The metric recipe has its own test (tests/test_metrics_registry_toy.py: one `register()` call) and
the discrepancy recipe the release tests (tests/test_release_e2e.py, tests/test_release_committed.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
COPIED = ("src", "conf", "rubrics", "docs", "workloads", "CONTRIBUTING.md")


@pytest.fixture()
def project(tmp_path):
    for name in COPIED:
        src, dst = ROOT / name, tmp_path / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    return tmp_path


def sentinel(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "sentinel", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)


def touched(project: Path) -> set[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project, check=True,
                         capture_output=True, text=True).stdout
    return {line[3:] for line in out.splitlines()}


def test_add_a_model_is_one_config_and_one_card(project):
    model = (ROOT / "conf/model/tiny-sd-fast.yaml").read_text().replace("tiny-sd-fast:", "tiny-sd-recipe:")
    (project / "conf/model/tiny-sd-recipe.yaml").write_text(model)
    (project / "docs/models/tiny-sd-recipe.md").write_text("# Tiny SD (recipe test)\n\nPlumbing only.\n")
    proc = sentinel(project, "plan", "model=[tiny-sd,tiny-sd-recipe]")
    assert proc.returncode == 0, proc.stderr
    assert "| tiny-sd-recipe | 12 |" in proc.stdout
    assert touched(project) == {"conf/model/tiny-sd-recipe.yaml", "docs/models/tiny-sd-recipe.md"}


def test_add_a_price_card_is_one_dated_file(project):
    card = (ROOT / "conf/cost/h100-modal-2025.yaml").read_text()
    card = card.replace("card: h100-modal-2025", "card: b200-example-2026").replace("3.95", "7.50")
    (project / "conf/cost/b200-example-2026.yaml").write_text(card.replace("2025-11-01", "2026-11-30"))
    proc = sentinel(project, "plan", "cost=b200-example-2026", "--gpus", "8")
    assert proc.returncode == 0, proc.stderr
    assert "$7.50/GPU-hour as of 2026-11-30" in proc.stdout
    assert touched(project) == {"conf/cost/b200-example-2026.yaml"}


def test_add_a_rubric_is_one_file_and_a_changelog_line(project):
    text = (ROOT / "rubrics/human-v2.md").read_text().replace("human-v2", "human-v3")
    (project / "rubrics/human-v3.md").write_text(text)
    with (project / "rubrics/CHANGELOG.md").open("a") as f:
        f.write("- `human-v3` (recipe test): a copy of human-v2.\n")
    assert sentinel(project, "plan", "score.human.rubric=human-v3").returncode == 0
    refused = sentinel(project, "plan", "score.human.rubric=human-v9")
    assert refused.returncode == 2 and "score.human.rubric" in refused.stderr and "human-v3" in refused.stderr
    assert touched(project) == {"rubrics/human-v3.md", "rubrics/CHANGELOG.md"}


def test_add_your_own_checkpoint_is_one_config_and_one_card(project, tmp_path_factory):
    """The `source: local` recipe's YAML, as CONTRIBUTING.md prints it, on a checkpoint saved as step 1 says."""
    import re

    from sentinel.models import tiny

    section = (ROOT / "CONTRIBUTING.md").read_text().split("## Add your own checkpoint", 1)[1].split("\n## ", 1)[0]
    model_yaml = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    outside = tmp_path_factory.mktemp("checkpoints")  # `project` is this test's tmp_path: keep the folder out of it
    ckpt = outside / "my-sd"
    tiny.tiny_sd(0, "DDIMScheduler", {}).save_pretrained(ckpt)
    lines = [line[3:] for line in model_yaml.splitlines()]  # the block is indented under its list item
    (project / "conf/model/my-sd.yaml").write_text("\n".join(lines).replace("/checkpoints/my-sd", str(ckpt)) + "\n")
    (project / "docs/models/my-sd.md").write_text("# My SD (recipe test)\n\nA tiny saved checkpoint.\n")
    proc = sentinel(project, "plan", "model=[my-sd]")
    assert proc.returncode == 0, proc.stderr
    assert "| my-sd | 12 |" in proc.stdout
    assert touched(project) == {"conf/model/my-sd.yaml", "docs/models/my-sd.md"}
    (project / "conf/model/my-sd.yaml").write_text((project / "conf/model/my-sd.yaml").read_text()
                                                   .replace(str(ckpt), str(outside / "nowhere")))
    refused = sentinel(project, "plan", "model=[my-sd]")
    assert refused.returncode == 2 and "model.my-sd.folder" in refused.stderr

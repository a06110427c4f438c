"""Releases, fast tier: the tolerance table, number-by-number comparison, fingerprint order, the
discrepancy report as GitHub Markdown, the issue template, history/changelog, and cut's refusals."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import markdown
import pytest
import yaml

from sentinel.provenance import declared_md5, dvc_dir_md5
from sentinel.release import fingerprint as fp
from sentinel.release.compare import compare_tree
from sentinel.release.cut import preflight
from sentinel.release.discrepancy import SECTIONS, render
from sentinel.release.history import (CHANGELOG_HEADER, NO_RELEASE, add_changelog_entry, history_markdown, ranking)
from sentinel.release.layout import ReleaseError, check_id
from sentinel.release.tolerances import Context, markdown_table, tolerance_for
from sentinel.release.verify import Outcome

SAME = Context(same_platform=True, remeasured=False)
OTHER = Context(same_platform=False, remeasured=True)


def _statuses(checks) -> dict[str, str]:
    return {c.address: c.status for c in checks}


def test_readme_shows_exactly_the_declared_tolerance_table(root):
    assert markdown_table() in (root / "releases/README.md").read_text()


def test_quality_is_bit_exact_on_the_same_platform_and_banded_on_other_hardware():
    pub = {"models": {"m": {"overall": {"fid": 10.0, "clip_score": 30.0, "n_generated": 12}}}}
    one_ulp = {"models": {"m": {"overall": {"fid": 10.000000000000002, "clip_score": 30.0, "n_generated": 12}}}}
    assert _statuses(compare_tree("score", pub, one_ulp, SAME))["score:models.m.overall.fid"] == "mismatch"
    assert _statuses(compare_tree("score", pub, one_ulp, OTHER))["score:models.m.overall.fid"] == "ok"
    # FID band ±2 % rel: 10.19 passes, 10.21 fails; CLIP ±0.2 % rel + 0.01 abs (0.07): 30.06 passes, 30.08 fails
    near = {"models": {"m": {"overall": {"fid": 10.19, "clip_score": 30.06, "n_generated": 12}}}}
    far = {"models": {"m": {"overall": {"fid": 10.21, "clip_score": 30.08, "n_generated": 13}}}}
    assert all(c.status == "ok" for c in compare_tree("score", pub, near, OTHER))
    assert _statuses(compare_tree("score", pub, far, OTHER)) == {
        "score:models.m.overall.fid": "mismatch", "score:models.m.overall.clip_score": "mismatch",
        "score:models.m.overall.n_generated": "mismatch"}  # counts stay exact on any hardware


def test_timings_are_exact_from_published_timings_and_ratio_banded_when_remeasured():
    pub = {"models": {"m": {"latency_p95_s": 2.0, "per_request_s": [1.0, 2.0, 3.0]}}}
    slower = {"models": {"m": {"latency_p95_s": 7.9, "per_request_s": [9.0, 1.0, 0.1]}}}
    assert all(c.status == "ok" for c in compare_tree("latency", pub, slower, OTHER))  # 3.95x < 4x
    too_slow = {"models": {"m": {"latency_p95_s": 8.1, "per_request_s": [1.0, 2.0]}}}
    assert _statuses(compare_tree("latency", pub, too_slow, OTHER)) == {
        "latency:models.m.latency_p95_s": "mismatch", "latency:models.m.per_request_s.length": "mismatch"}
    assert _statuses(compare_tree("cost", {"c": 1.0}, {"c": 1.0 + 1e-15}, SAME)) == {"cost:c": "mismatch"}
    assert tolerance_for("cost:price_card.price_usd_per_hour", OTHER).kind == "exact"


def test_published_key_missing_from_the_rerun_fails_and_new_keys_are_ignored():
    pub = {"models": [{"model": "a", "composite": 50.0}, {"model": "b", "composite": 40.0}]}
    cur = {"models": [{"model": "b", "composite": 40.0, "new_field": 1}], "extra": 3}
    checks = compare_tree("leaderboard", pub, cur, SAME)
    assert _statuses(checks) == {"leaderboard:models.length": "mismatch", "leaderboard:models.a": "absent",
                                 "leaderboard:models.b.model": "ok", "leaderboard:models.b.composite": "ok"}
    assert not list(compare_tree("leaderboard", {"provenance": {"git_commit": "x"}}, {"provenance": {}}, SAME))


def test_first_difference_follows_group_order_and_classes():
    pub = {"weights": {"score.inception_weights": "aa"}, "libraries": {"torch": "2.1", "python": "3.11"},
           "hardware": {"gpu": "A100"}, "code": {"src/x.py": "1"}}
    cur = {"weights": {"score.inception_weights": "bb"}, "libraries": {"torch": "2.2", "python": "3.12"},
           "hardware": {"gpu": "H100"}, "code": {"src/x.py": "2"}}
    diffs = fp.differences(pub, cur)
    assert [d.field for d in diffs] == ["weights.score.inception_weights", "libraries.torch", "libraries.python",
                                        "hardware.gpu", "code.src/x.py"]
    assert [d.cls for d in diffs] == ["strict", "strict", "platform", "platform", "info"]
    assert fp.differences(pub, cur, lenient_libraries=True)[1].cls == "platform"
    assert fp.differences({"convention": {"a": 1}}, {}) == []  # a group not measured is not compared


def test_dvc_dir_md5_is_dvcs_own_hash(root):
    if not (root / "data").is_dir():
        pytest.skip("data/ not pulled (`dvc pull data.dvc`)")
    assert dvc_dir_md5(root / "data") == declared_md5(root / "data.dvc")


def _outcome(**kw) -> Outcome:
    from sentinel.release.compare import Check

    o = Outcome("2026-Q4-smoke", "rescore", "python -m sentinel.release verify releases/2026-Q4-smoke",
                same_platform=False, published_env={"libraries": {"torch": "2.1"}, "hardware": {"gpu": "A100"}},
                current_env={"libraries": {"torch": "2.2"}, "hardware": {"gpu": "H100 | PCIe"}})
    o.checks = [Check("score:models.m.overall.fid", 10.0, 11.5, "band ±0.02 rel", "mismatch"),
                Check("score:models.m.overall.clip_score", 30.0, 30.0, "exact", "ok"),
                Check("images:m/a|b.png", "ab" * 32, "cd" * 32, "exact", "mismatch")]
    o.differences = [fp.Difference("weights.score.inception_weights", "aa", "bb", "strict"),
                     fp.Difference("hardware.gpu", "A100", "H100 | PCIe", "platform")]
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def _html(text: str) -> str:
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


def test_discrepancy_report_renders_as_github_markdown_with_the_template_sections():
    from html.parser import HTMLParser

    text = render(_outcome())

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.h3, self.tables, self.rows, self.tag, self.cells = [], 0, [], None, 0

        def handle_starttag(self, tag, attrs):
            self.tag = tag
            if tag == "table":
                self.tables += 1
            if tag == "tr":
                self.cells = 0
            if tag in ("td", "th"):
                self.cells += 1

        def handle_endtag(self, tag):
            if tag == "tr":
                self.rows.append((self.tables, self.cells))

        def handle_data(self, data):
            if self.tag == "h3" and data.strip():
                self.h3.append(data.strip())
                self.tag = None

    c = Collect()
    c.feed(_html(text))
    assert c.h3 == [label for _, label in SECTIONS]
    assert c.tables == 3  # numbers, fingerprint, environment
    widths = {1: 5, 2: 4, 3: 3}
    assert all(cells == widths[t] for t, cells in c.rows), c.rows  # an escaped `|` never splits a cell
    assert [t for t, _ in c.rows].count(1) == 1 + 2  # header + the two failed numbers (not the passing one)
    assert "<code>weights.score.inception_weights</code>" in _html(text)
    assert '<code class="language-shell">python -m sentinel.release verify' in _html(text)
    assert "**FAIL**" in text and "2 of 3 numbers outside tolerance" in text


def test_pass_report_and_no_cause_report():
    assert "**PASS**" in render(_outcome(checks=[], differences=[]))
    from sentinel.release.compare import Check

    bad = render(_outcome(checks=[Check("score:x", 1.0, 2.0, "exact", "mismatch")], differences=[]))
    assert "No fingerprint field differs" in bad and "a bug in itself" in bad


def test_issue_template_fields_are_the_report_sections(root):
    form = yaml.safe_load((root / ".github/ISSUE_TEMPLATE/discrepancy.yml").read_text())
    fields = [(b["id"], b["attributes"]["label"]) for b in form["body"] if b["type"] != "markdown"]
    assert fields == list(SECTIONS)
    assert {"name", "description", "body"} <= set(form)


def _fake_release(base: Path, rid: str, scores: dict[str, float], params: dict, plumbing: bool = True) -> Path:
    d = base / "releases" / rid
    d.mkdir(parents=True)
    board = {"models": [{"model": m, "composite": c} for m, c in scores.items()]}
    (d / "leaderboard.json").write_text(json.dumps(board))
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    (d / "manifest.json").write_text(json.dumps({"release": rid, "plumbing": plumbing, "git_commit": "abc",
                                                  "cut_utc": "2026-10-01", "suite": "smoke",
                                                  "images": {"nfiles": 2, "md5": "x.dir", "remote": "r"},
                                                  "verify": f"python -m sentinel.release verify releases/{rid}"}))
    return d


def test_history_ranks_models_across_releases_and_changelog_prepends(tmp_path):
    _fake_release(tmp_path, "2026-Q3", {"a": 40.0, "b": 60.0}, {"cost": {"p": 1}, "model": {"a": 1, "b": 1}})
    q4 = _fake_release(tmp_path, "2026-Q4", {"a": 70.0, "c": 50.0}, {"cost": {"p": 2}, "model": {"a": 1, "c": 1}},
                       plumbing=False)
    assert ranking(json.loads((q4 / "leaderboard.json").read_text())) == [("a", 70.0), ("c", 50.0)]
    html = _html(history_markdown(tmp_path))
    rows = [r for r in html.split("<tr>") if "<td>" in r]
    assert "<td>a</td>\n<td>2 (40.00)</td>\n<td>1 (70.00)</td>" in rows[0]
    assert "<td>b</td>\n<td>1 (60.00)</td>\n<td>–</td>" in html
    assert "2026-Q3 <em>(plumbing)</em>" in html and "2026-Q4 <em>(plumbing)</em>" not in html
    (tmp_path / "releases/CHANGELOG.md").write_text(CHANGELOG_HEADER + "\n" + NO_RELEASE)
    add_changelog_entry(tmp_path, tmp_path / "releases/2026-Q3")
    add_changelog_entry(tmp_path, q4, note="First real release.")
    log = (tmp_path / "releases/CHANGELOG.md").read_text()
    assert log.index("## 2026-Q4") < log.index("## 2026-Q3")
    assert "params changed in `cost`, `model`; models added: c; removed: b" in log
    assert "First real release." in log and NO_RELEASE not in log


@pytest.mark.parametrize("rid", ["2026-Q4", "2026-Q1-smoke", "2027-Q2-r2"])
def test_release_ids(rid):
    assert check_id(rid) == rid


@pytest.mark.parametrize("rid", ["2026-Q5", "2026Q4", "Q4-2026", "2026-Q4_smoke", "../2026-Q4"])
def test_bad_release_ids_are_refused(rid):
    with pytest.raises(ReleaseError, match="YYYY-Qn"):
        check_id(rid)


def _git_repo(path: Path) -> Path:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=path, check=True, capture_output=True)
    (path / "a.txt").write_text("a\n")
    (path / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=path, check=True, capture_output=True,
                   env={**__import__("os").environ, **env})
    return path


def test_cut_refuses_a_dirty_tree_and_a_non_clean_dvc_status(tmp_path):
    repo = _git_repo(tmp_path)
    with pytest.raises(ReleaseError, match=r"`dvc status` is not clean \(copy\)"):
        preflight(repo)  # the stage never ran: dvc.lock is missing
    (repo / "notes.txt").write_text("uncommitted\n")
    proc = subprocess.run([sys.executable, "-m", "sentinel.release", "--root", str(repo), "cut", "2026-Q4"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "refusing to cut a release: the git tree is dirty (notes.txt)" in proc.stderr
    assert not (repo / "releases").exists()


def test_committed_history_page_is_current(root):
    assert (root / "releases/HISTORY.md").read_text() == history_markdown(root)


def test_verify_of_a_missing_release_exits_2_naming_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sentinel.release", "--root", str(tmp_path), "verify",
                           str(tmp_path / "releases/2099-Q1")], capture_output=True, text=True)
    assert proc.returncode == 2 and "releases/2099-Q1: no such release directory" in proc.stderr

"""Workload rows are validated; a malformed row names its file and line."""
from __future__ import annotations

import pytest

from sentinel.workload import COLUMNS, WorkloadError, load_jobs

CATS = ("corporate_headshot", "ecommerce_product", "creative_portrait")
GOOD = "hs-1,corporate_headshot,a headshot,blurry,1,64,64,4,5.0"


def _csv(tmp_path, *rows):
    path = tmp_path / "jobs.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return path


def test_smoke_workload_covers_three_categories(root):
    jobs = load_jobs(root / "workloads/smoke.csv", CATS)
    assert {j.category for j in jobs} == set(CATS)
    assert len({j.id for j in jobs}) == len(jobs) and len({j.seed for j in jobs}) == len(jobs)


@pytest.mark.parametrize("bad, message", [
    ("hs-2,corporate_headshot,a headshot,,1,sixty-four,64,4,5.0", r":3: width: expected int, got 'sixty-four'"),
    ("hs-2,wedding_photo,a headshot,,1,64,64,4,5.0", r":3: category: 'wedding_photo' is not one of"),
    ("hs-2,corporate_headshot,,,1,64,64,4,5.0", r":3: prompt: empty"),
    ("hs-2,corporate_headshot,a headshot,,1,60,64,4,5.0", r":3: width/height: must be multiples of 8"),
    ("hs-2,corporate_headshot,a headshot,,-1,64,64,4,5.0", r":3: seed: must be >= 0"),
    ("hs-2,corporate_headshot,a headshot,,1,64,64", r":3: expected 9 columns"),
    ("hs-1,corporate_headshot,again,,1,64,64,4,5.0", r":3: id: 'hs-1' duplicates line 2"),
    ("../evil,corporate_headshot,a headshot,,1,64,64,4,5.0", r":3: id: '../evil' must match"),
])
def test_malformed_row_names_file_and_line(tmp_path, bad, message):
    path = _csv(tmp_path, GOOD, bad)
    with pytest.raises(WorkloadError, match=str(path).replace(".", r"\.") + message):
        load_jobs(path, CATS)


def test_bad_header_and_missing_file(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("id,prompt\nx,y\n")
    with pytest.raises(WorkloadError, match=r"jobs\.csv:1: header must be"):
        load_jobs(path)
    with pytest.raises(WorkloadError, match="workload file not found"):
        load_jobs(tmp_path / "nope.csv")

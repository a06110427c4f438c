"""Workload rows are validated; a malformed row names its file and line."""
from __future__ import annotations

import pytest

from sentinel.workloads.jobs import COLUMNS, EXTRA_COLUMNS, WorkloadError, load_jobs, load_workload

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
    with pytest.raises(WorkloadError, match=r"jobs\.csv:1: missing column\(s\) category, negative_prompt, seed"):
        load_jobs(path)
    with pytest.raises(WorkloadError, match="workload file not found"):
        load_jobs(tmp_path / "nope.csv")


@pytest.mark.parametrize("bad, message", [
    ("hs-2,corporate_headshot,a headshot,,1,8192,64,4,5.0", r":3: width: must be <= 4096, got 8192"),
    ("hs-2,corporate_headshot,a headshot,,1,64,0,4,5.0", r":3: height: must be >= 8, got 0"),
    ("hs-2,corporate_headshot,a headshot,,,64,64,4,5.0", r":3: seed: missing value"),
    ("hs-2,,a headshot,,1,64,64,4,5.0", r":3: category: missing value"),
    ("hs-2,corporate_headshot,a headshot,,1,64,64,0,5.0", r":3: steps: must be >= 1"),
    ("hs-2,corporate_headshot,a headshot,,1,64,64,4,nan", r":3: guidance: must be finite"),
])
def test_missing_and_out_of_range_values_name_the_row(tmp_path, bad, message):
    path = _csv(tmp_path, GOOD, bad)
    with pytest.raises(WorkloadError, match=str(path).replace(".", r"\.") + message):
        load_jobs(path, CATS)


def _csv_extra(tmp_path, *rows, header=",".join(COLUMNS + EXTRA_COLUMNS)):
    path = tmp_path / "jobs.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_arrival_times_and_attributes_are_read_by_job_id(tmp_path):
    path = _csv_extra(tmp_path, GOOD + ",0.5,age_band=25-34;monk_skin_tone=7",
                      "ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,0.5,")
    wl = load_workload(path, CATS)
    assert [j.id for j in wl.jobs] == [j.id for j in load_jobs(path)] == ["hs-1", "ep-1"]
    assert wl.attributes == {"hs-1": {"age_band": "25-34", "monk_skin_tone": "7"}, "ep-1": {}}
    assert wl.arrival_s == {"hs-1": 0.5, "ep-1": 0.5}
    assert load_workload(_csv(tmp_path, GOOD)).arrival_s is None  # the plain 9-column file still loads


@pytest.mark.parametrize("bad, message", [
    ("ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,0.4,", r":3: arrival_s: 0.4 is earlier than the previous row"),
    ("ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,,", r":3: arrival_s: missing value"),
    ("ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,1,material", r":3: attributes: 'material' must be key=value"),
    ("ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,1,a=1;a=2", r":3: attributes: 'a' appears twice"),
    ("ep-1,ecommerce_product,a mug,,2,64,64,4,5.0,1", r":3: expected 11 columns"),
])
def test_bad_arrival_or_attributes_name_the_row(tmp_path, bad, message):
    path = _csv_extra(tmp_path, GOOD + ",0.5,", bad)
    with pytest.raises(WorkloadError, match=str(path).replace(".", r"\.") + message):
        load_workload(path, CATS)


def test_extra_columns_out_of_order_are_read_by_name(tmp_path):
    """A spreadsheet may reorder columns: they are matched by name (tests/test_workload_own_data.py)."""
    path = _csv_extra(tmp_path, GOOD + ",age_band=25-34,0.5", header=",".join(COLUMNS + ("attributes", "arrival_s")))
    wl = load_workload(path)
    assert wl.attributes == {"hs-1": {"age_band": "25-34"}} and wl.arrival_s == {"hs-1": 0.5}

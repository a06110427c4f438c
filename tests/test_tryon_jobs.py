"""Try-on jobs and the committed smoke set (sentinel.tryon.jobs, sentinel.tryon.smoke_set).

The job reader's errors name file, line and column; the smoke set rebuilds byte for byte from the
pinned reference photos; and the paired jobs' garment photos are checked against the person photos
with numpy directly (mask read from its PNG, the centring rule recomputed here), not through the
builder's own helpers. No torch.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sentinel.errors import WorkloadError
from sentinel.tryon import smoke_set
from sentinel.tryon.jobs import COLUMNS, load_tryon_jobs

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "workloads/tryon"  # the smoke suite's tryon.workload.root
HEADER = ",".join(COLUMNS) + "\n"
GOOD = "t-1,p/a.png,g/a.png,m/a.png,upper,7,paired\n"


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _write(tmp_path: Path, body: str, name: str = "jobs.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("row, line, message", [
    ("t-2,p/b.png,g/b.png,,upper,8,matched\n", 3, "protocol: 'matched' is not one of paired, unpaired"),
    ("t-2,p/b.png,g/b.png,,upper,8,\n", 3, "protocol: '' is not one of paired, unpaired"),
    ("t-2,p/b.png,p/b.png,,upper,8,paired\n", 3, "garment: 'p/b.png' is the person image itself"),
    ("t-2,p/b.jpg,g/b.png,,upper,8,paired\n", 3, "person: 'p/b.jpg' must be a PNG"),
    ("t-2,../b.png,g/b.png,,upper,8,paired\n", 3, "person: '../b.png' must be a relative POSIX path"),
    ("t-2,p/b.png,g/b.png,m/b.webp,upper,8,unpaired\n", 3, "mask: 'm/b.webp' must be a PNG"),
    ("t-2,p/b.png,g/b.png,,upper,-1,unpaired\n", 3, "seed: must be >= 0"),
    ("t-2,p/b.png,g/b.png,,upper,x,unpaired\n", 3, "seed: expected int"),
    ("t 2,p/b.png,g/b.png,,upper,8,unpaired\n", 3, "id: 't 2' must match"),
    ("t-1,p/b.png,g/b.png,,upper,8,unpaired\n", 3, "id: 't-1' duplicates line 2"),
    ("t-2,p/b.png,g/b.png,,upper,8\n", 3, "expected 7 columns"),
])
def test_a_bad_row_names_file_line_and_column(tmp_path, row, line, message):
    path = _write(tmp_path, GOOD + row)
    with pytest.raises(WorkloadError) as e:
        load_tryon_jobs(path)
    assert str(e.value).startswith(f"{path}:{line}: ") and message in str(e.value)


def test_protocol_column_and_ground_truth(tmp_path):
    jobs = load_tryon_jobs(_write(tmp_path, GOOD + "t-2,p/b.png,g/a.png,,dress,8,unpaired\n"))
    assert [(j.protocol, j.ground_truth) for j in jobs] == [("paired", "p/a.png"), ("unpaired", None)]
    assert jobs[0].to_dict() == {"id": "t-1", "person": "p/a.png", "garment": "g/a.png", "mask": "m/a.png",
                                 "category": "upper", "seed": 7, "protocol": "paired"}


def test_a_file_without_the_protocol_column_is_read_as_unpaired(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("id,person,garment,mask,category,seed\nt-1,p/a.png,g/a.png,,upper,7\n")
    [job] = load_tryon_jobs(path)
    assert job.protocol == "unpaired" and job.ground_truth is None
    path.write_text("id,person,garment,mask,category,protocol,seed\nt-1,p/a.png,g/a.png,,upper,paired,7\n")
    with pytest.raises(WorkloadError, match=rf"^{path}:1: header must be {','.join(COLUMNS)}"):
        load_tryon_jobs(path)


# --- the committed smoke set ---------------------------------------------------------------------

def test_the_smoke_set_rebuilds_byte_for_byte_from_the_pinned_photos():
    assert smoke_set.check(REPO) == []
    files = smoke_set.build(REPO / "data/reference")
    for rel, data in files.items():  # check() compares these; say it again here on the bytes themselves
        assert (REPO / rel).read_bytes() == data, rel


def test_check_names_a_committed_file_that_differs_and_one_that_should_not_be_there(tmp_path):
    for rel in ("data/reference", "workloads/tryon", "workloads/tryon-pairs"):
        shutil.copytree(REPO / rel, tmp_path / rel)
    shutil.copy(REPO / "workloads/tryon-smoke.csv", tmp_path / "workloads/tryon-smoke.csv")
    assert smoke_set.check(tmp_path) == []
    garment = tmp_path / "workloads/tryon/garment/camera-00.png"
    pixels = _rgb(garment).copy()
    pixels[32, 32] ^= 1
    Image.fromarray(pixels).save(garment)
    (tmp_path / "workloads/tryon/person/stray.png").write_bytes(b"")
    assert smoke_set.check(tmp_path) == ["workloads/tryon/garment/camera-00.png", "workloads/tryon/person/stray.png"]


def test_the_smoke_set_refuses_a_reference_photo_that_differs_from_its_pin(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REPO / "data/reference", ref)
    victim = ref / smoke_set.PERSONS[0].source
    pixels = _rgb(victim).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(victim)
    with pytest.raises(WorkloadError, match=rf"^{victim}: sha256 .* differs from .* pinned in {ref / 'manifest.json'}"):
        smoke_set.build(ref)


def _smoke_rows() -> list[dict]:
    with open(REPO / "workloads/tryon-smoke.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _garment_region(person: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person's masked rectangle, found from the mask PNG's pixels alone."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    block = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    assert block.all(), "the smoke masks are rectangles"
    return person[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _centred_on_white(region: np.ndarray, side: int = 64) -> np.ndarray:
    h, w = region.shape[:2]
    out = np.full((side, side, 3), 255, dtype=np.uint8)
    out[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = region
    return out


def test_paired_garments_are_the_persons_masked_region_on_white():
    rows = [r for r in _smoke_rows() if r["protocol"] == "paired"]
    assert len(rows) == 4
    for r in rows:
        person, garment = _rgb(ROOT / r["person"]), _rgb(ROOT / r["garment"])
        mask_rgb = _rgb(ROOT / r["mask"])
        assert set(np.unique(mask_rgb)) <= {0, 255} and (mask_rgb[..., 0] == mask_rgb[..., 2]).all()
        mask = mask_rgb[..., 0] == 255
        assert 0.1 < mask.mean() < 0.5  # a torso, not the whole photo
        np.testing.assert_array_equal(garment, _centred_on_white(_garment_region(person, mask)), err_msg=r["id"])
        # the person photo is the pinned reference photo, pixel for pixel (the ground truth is real)
        name = Path(r["person"]).name
        np.testing.assert_array_equal(person, _rgb(REPO / "data/reference/creative_portrait" / name))


def test_unpaired_jobs_wear_another_persons_garment_with_their_own_mask():
    rows = _smoke_rows()
    paired = {r["person"]: r for r in rows if r["protocol"] == "paired"}
    unpaired = [r for r in rows if r["protocol"] == "unpaired"]
    assert len(unpaired) == 4 and {r["person"] for r in unpaired} == set(paired)
    assert sorted(r["garment"] for r in unpaired) == sorted(r["garment"] for r in paired.values())  # a permutation
    for r in unpaired:
        assert r["mask"] == paired[r["person"]]["mask"]
        assert r["garment"] != paired[r["person"]]["garment"]  # never the person's own garment
        owner = next(p for p in paired.values() if p["garment"] == r["garment"])
        assert not np.array_equal(_rgb(ROOT / r["garment"]), _rgb(ROOT / paired[r["person"]]["garment"]))
        assert owner["person"] != r["person"]
    assert len({r["seed"] for r in rows}) == len(rows)


def test_the_smoke_jobs_load_against_their_published_pair_lists():
    jobs = load_tryon_jobs(REPO / "workloads/tryon-smoke.csv", root=ROOT,
                           pairs=REPO / "workloads/tryon-pairs/manifest.json")
    assert [j.protocol for j in jobs] == ["paired"] * 4 + ["unpaired"] * 4
    manifest = json.loads((REPO / "workloads/tryon-pairs/manifest.json").read_text())
    assert {e["file"]: e["rows"] for e in manifest["lists"]} == {"smoke-paired.csv": 4, "smoke-unpaired.csv": 4}


def test_a_job_outside_its_protocols_pair_list_and_a_tampered_list_are_refused(tmp_path):
    pairs_dir = tmp_path / "pairs"
    shutil.copytree(REPO / "workloads/tryon-pairs", pairs_dir)
    rows = (REPO / "workloads/tryon-smoke.csv").read_text().splitlines(keepends=True)
    # the paired job p-camera-00 re-declared unpaired: (camera-00, camera-00) is in no unpaired list
    bad = tmp_path / "bad.csv"
    bad.write_text(rows[0] + rows[3].replace(",paired", ",unpaired"))
    with pytest.raises(WorkloadError, match=rf"^{bad}:2: garment: \(person camera-00, garment camera-00\) is not "
                                            r"a pair of any unpaired list"):
        load_tryon_jobs(bad, pairs=pairs_dir / "manifest.json")
    (pairs_dir / "smoke-unpaired.csv").write_text("person,garment\ncamera-00.png,camera-00.png\n")
    good = tmp_path / "good.csv"
    good.write_text(rows[0] + rows[1])
    with pytest.raises(WorkloadError, match=rf"^{pairs_dir / 'smoke-unpaired.csv'}: sha256 .* differs"):
        load_tryon_jobs(good, pairs=pairs_dir / "manifest.json")

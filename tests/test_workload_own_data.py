"""Your own data from one folder: prompts and JPEG photos -> `sentinel workload init` -> a benchmarked
category of its own, whose jobs.csv went through a spreadsheet (UTF-8 BOM, CRLF, reordered columns,
an extra column). The report, leaderboard.json and metrics.json name that workload and reference set
with their fingerprints; the metrics read exactly the decoded JPEG pixels.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import own_project
from sentinel.errors import WorkloadError
from sentinel.workloads.jobs import COLUMNS, load_workload

pytest_plugins = ["metrics_fixtures", "own_project"]  # own_bench: one benchmark run per session


def _photos_sha256(folder: Path) -> str:
    """The data block's fingerprint, re-derived: sha256 of sorted "name<TAB>sha256" lines."""
    lines = "".join(f"{p.name}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in sorted(folder.glob("*.jpg")))
    return hashlib.sha256(lines.encode()).hexdigest()


@pytest.mark.slow
def test_own_category_with_jpeg_photos_and_a_spreadsheet_csv_is_named_everywhere(own_bench):
    project, photos = own_bench["project"], own_bench["photos"]
    assert own_bench["jobs"].read_bytes().startswith(b"\xef\xbb\xbfprompt,id,notes,") and b"\r\n" in \
        own_bench["jobs"].read_bytes()
    digest, jobs_sha = _photos_sha256(photos), hashlib.sha256(own_bench["jobs"].read_bytes()).hexdigest()
    board = json.loads((project / "reports/leaderboard.json").read_text())
    assert board["data"]["workload"] == "interiors" and board["data"]["jobs_sha256"] == jobs_sha
    assert board["data"]["reference"] == {"interiors": {"folder": photos.as_posix(), "n_images": 6, "sha256": digest}}
    score = json.loads((project / "outputs/score/metrics.json").read_text())
    assert score["convention"]["reference"]["interiors"]["sha256"] == digest
    quality = score["models"][own_project.MODEL]
    assert quality["overall"]["ci"]["fid"]["n_reference"] == 6 and "interiors" in quality["categories"]
    md, html = ((project / f"reports/report.{ext}").read_text() for ext in ("md", "html"))
    assert md.splitlines()[0] == "# Sentinel report: suite smoke, workload interiors"
    for text in (md, html):
        assert "interiors" in text and photos.as_posix() in text and digest in text and jobs_sha in text
    assert "corporate_headshot" not in md  # only the workload's own category


def test_metrics_read_the_decoded_jpeg_pixels(tmp_path):
    from PIL import Image

    from sentinel.images import decode_rgb
    from sentinel.workloads.references import as_png, scored_references

    folder = own_project.photo_folder(tmp_path) / "reference"
    Image.open(folder / "room-0.jpg").save(folder / "room-9.webp", lossless=True)
    files = scored_references(tmp_path, "interiors", {"interiors": str(folder)}, str(tmp_path / "cache"))
    assert len(files) == 7 and all(p.suffix == ".png" for p in files)
    originals = sorted(p for p in folder.iterdir())
    for original, png in zip(originals, files, strict=True):
        with Image.open(original) as im:
            assert np.array_equal(decode_rgb(png), np.asarray(im.convert("RGB"))), original.name
    assert as_png(originals, tmp_path / "cache" / "reference-png") == files  # content-addressed: the same files


def _plain_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


ROWS = [{"id": f"j{i}", "category": "interiors", "prompt": f"a room, take {i}", "negative_prompt": "",
         "seed": str(i), "width": "64", "height": "64", "steps": "2", "guidance": "5.0"} for i in range(3)]


def test_spreadsheet_csv_reads_as_the_plain_one_and_a_missing_column_is_named(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(_plain_csv(ROWS))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(_plain_csv(ROWS))
    own_project.spreadsheet_round_trip(sheet)
    assert load_workload(sheet, ("interiors",)) == load_workload(plain, ("interiors",))
    broken = tmp_path / "broken.csv"
    broken.write_text(_plain_csv(ROWS).replace(",guidance", ",guidanc"))
    with pytest.raises(WorkloadError, match=r"broken\.csv:1: missing column\(s\) guidance"):
        load_workload(broken)


def test_workload_init_from_a_csv_of_prompts_and_per_category_folders(tmp_path):
    """prompts.csv (BOM, its own column order) names two categories; photos in reference/<category>/."""
    from PIL import Image

    from sentinel import config
    from sentinel.workloads import init

    folder = tmp_path / "catalogue"
    for cat in ("sofas", "lamps"):
        (folder / "reference" / cat).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * i + 7, np.uint8)).save(folder / "reference" / cat / f"{i}.jpg")
    (folder / "prompts.csv").write_bytes(b"\xef\xbb\xbfcategory,prompt,owner\r\nSofas,a grey sofa,ann\r\n"
                                         b"lamps,a brass lamp,bo\r\nsofas,a green sofa,cy\r\n")
    out = init.init(folder, None, None, tmp_path / "conf", (64, 64), 4, 3.0)
    wl = load_workload(out["jobs"], ("sofas", "lamps"))
    assert [(j.category, j.prompt) for j in wl.jobs] == [("sofas", "a grey sofa"), ("lamps", "a brass lamp"),
                                                          ("sofas", "a green sofa")]
    again = tmp_path / "again.csv"
    again.write_text(init.to_csv(init.job_rows("catalogue", init.read_prompts(folder, "x"), 64, 64, 4, 3.0)))
    assert again.read_bytes() == out["jobs"].read_bytes()  # seeds from names: the same file every time
    import yaml

    wcfg = config.build(config.WorkloadConfig, yaml.safe_load(out["conf"].read_text()), "workload")
    assert wcfg.name == "catalogue" and wcfg.categories == ("sofas", "lamps")
    assert wcfg.reference == {c: (folder / "reference" / c).as_posix() for c in ("sofas", "lamps")}
    card = out["card"].read_text()
    assert "| sofas | 2 |" in card and "| lamps | 1 |" in card
    with pytest.raises(WorkloadError, match="already exist"):
        init.init(folder, None, None, tmp_path / "conf", (64, 64), 4, 3.0)
    (folder / "reference" / "lamps" / "0.jpg").unlink()
    (folder / "reference" / "lamps" / "1.jpg").unlink()
    with pytest.raises(WorkloadError, match="no reference photos .* for lamps"):
        init.init(folder, None, None, tmp_path / "conf", (64, 64), 4, 3.0, force=True)

"""The ten-line FID recompute script of releases/README.md, extracted verbatim and run on a release folder."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^(\S+): FID (\S+), published (\S+), relative difference (\S+)$")


def readme_script() -> str:
    """The python block that follows the recompute-fid marker in releases/README.md, verbatim."""
    text = (ROOT / "releases" / "README.md").read_text(encoding="utf-8")
    after = text.split("<!-- recompute-fid", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def run_script(release_dir: Path, tmp_path: Path) -> dict[str, tuple[float, float, float]]:
    """{model: (recomputed FID, published FID, relative difference)} as the script prints them."""
    script = tmp_path / "recompute_fid.py"
    script.write_text(readme_script(), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(release_dir)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        assert m, line
        out[m.group(1)] = tuple(float(m.group(i)) for i in (2, 3, 4))
    return out

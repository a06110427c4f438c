"""Which human rubric is in force: a name from config (`score.human.rubric`), checked against rubrics/.

A rubric is a versioned file `rubrics/<name>.md` (`human-v1`, `human-v2`, ...); bumping one needs a
line in rubrics/CHANGELOG.md. The simulator labels its rows with it, the rating app shows it on the
page and stores it on every vote, and the score stage refuses ratings collected under another one.
"""
from __future__ import annotations

from pathlib import Path

from sentinel.config import CONF_DIR, ConfigError

RUBRICS_DIR = CONF_DIR.parent / "rubrics"
PREFIX = "human-"


def choices(folder: Path = RUBRICS_DIR) -> list[str]:
    """Human rubric versions that exist as files (composite.md and metrics-convention.md are not rubrics)."""
    return sorted(p.stem for p in folder.glob(f"{PREFIX}*.md"))


def check(name: str, where: str = "score.human.rubric", folder: Path = RUBRICS_DIR) -> str:
    """`name` itself, or a ConfigError naming the key and the valid versions."""
    valid = choices(folder)
    if name not in valid:
        raise ConfigError(f"{where}: unknown rubric {name!r} (valid: {', '.join(valid)}; each is {folder.name}/<name>.md)")
    return name


def check_rows(rows: list[dict], rubric: str, where: str) -> None:
    """Ratings must have been collected under the configured rubric (rows without one predate the field)."""
    other = sorted({r["rubric"] for r in rows if r.get("rubric") not in (None, rubric)})
    if other:
        raise ConfigError(f"{where}: ratings were collected under rubric {', '.join(other)}, but score.human.rubric "
                          f"is {rubric!r}; set score.human.rubric to the rubric the raters used")

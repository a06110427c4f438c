"""Model cards: docs/models/<model name>.md, one per conf/model/<model name>.yaml, rendered in the report.

    from sentinel.models.cards import card
    markdown = card("flux2-schnell")   # says, e.g., that the seed name maps to FLUX.2 [klein] 4B
"""
from __future__ import annotations

from pathlib import Path

from sentinel.config import CONF_DIR

CARDS_DIR = CONF_DIR.parent / "docs" / "models"


def card_path(name: str) -> Path:
    return CARDS_DIR / f"{name}.md"


def card(name: str) -> str:
    path = card_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model card for model {name!r}; add one next to conf/model/{name}.yaml")
    return path.read_text(encoding="utf-8")

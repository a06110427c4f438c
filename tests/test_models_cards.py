"""Every model config has a card, and each card names the weights its config loads."""
from __future__ import annotations

import pytest
import yaml

from sentinel import config
from sentinel.models.cards import card


@pytest.mark.parametrize("name", config.choices("model"))
def test_every_model_has_a_card_that_matches_its_config(name):
    cfg = config.models(yaml.safe_load((config.CONF_DIR / "model" / f"{name}.yaml").read_text()))[name]
    text = card(name)
    assert text.startswith("# ")
    for value in (cfg.repo_id, cfg.unet and cfg.unet.repo_id, cfg.api and cfg.api.key_env):
        if value:
            assert value in text, f"docs/models/{name}.md does not mention {value}"
    if cfg.pipeline != "api":
        assert cfg.pipeline in text
    if cfg.source == "pretrained" and not (cfg.revision and len(cfg.revision) == 40):
        assert "not yet pinned" in text


def test_missing_card_names_the_file():
    with pytest.raises(FileNotFoundError, match=r"docs/models/nope\.md: no model card for model 'nope'"):
        card("nope")

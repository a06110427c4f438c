"""The self-hosted pipeline model implements the `Model` protocol (torch: not in the unit lane)."""
from __future__ import annotations

from sentinel.models.protocol import Model


def test_the_pipeline_model_is_a_model(model_cfgs):
    from sentinel.models.pipeline import ImageModel

    assert isinstance(ImageModel(cfg=next(iter(model_cfgs.values())), pipe=None, device="cpu"), Model)

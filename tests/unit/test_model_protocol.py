"""The `Model` protocol is the whole interface: executors and the generate stage use no other member,
and the API adapter implements it (the pipeline model is checked in tests/test_models_protocol.py)."""
from __future__ import annotations

import ast
from pathlib import Path

from sentinel.models.protocol import Model

SRC = Path(__file__).resolve().parents[2] / "src" / "sentinel"
CALLERS = ("executors/work.py", "executors/batches.py", "generate.py")


def _members() -> set[str]:
    return {n for n in dir(Model) if not n.startswith("_")} | set(Model.__annotations__)


def test_callers_use_only_protocol_members():
    used = set()
    for rel in CALLERS:
        for node in ast.walk(ast.parse((SRC / rel).read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "model":
                used.add((rel, node.attr))
    assert {a for _, a in used} <= _members(), sorted(u for u in used if u[1] not in _members())
    assert {"generate_batch", "cfg", "device", "batch_key", "settings", "size"} <= {a for _, a in used}


def test_the_api_adapter_is_a_model(model_cfgs):
    import dataclasses

    from sentinel.api import ApiModel
    from sentinel.config import ApiConfig

    api = ApiConfig(protocol="openai-images", base_url="http://127.0.0.1:9", key_env="K", vendor_model="v",
                    list_price_usd_per_image=0.04, price_source="test")
    cfg = dataclasses.replace(next(iter(model_cfgs.values())), source="api", api=api)
    model = ApiModel.__new__(ApiModel)  # no client: HTTP, retries and redaction are not part of the protocol
    model.cfg = cfg
    assert isinstance(model, Model)
    assert not isinstance(object(), Model)

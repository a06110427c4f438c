"""Shared fixtures: offline environment, tiny model configs, and the smoke params as a dict."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch a model hub (set before any HF import)
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def smoke_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture(scope="session")
def model_cfgs(smoke_params):
    from sentinel import config

    return config.models(smoke_params["model"])

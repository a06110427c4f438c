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


def pytest_collection_modifyitems(config, items):
    """`gpu` tests run only where CUDA is visible; torch is imported only if such a test was collected."""
    gpu_items = [i for i in items if i.get_closest_marker("gpu")]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device visible (the gpu lane runs on a GPU machine)")
    for item in gpu_items:
        item.add_marker(skip)


def _committed_results() -> dict[str, bytes | None]:
    """The committed stage outputs, reports and release folders as they are in the checkout (None: missing).
    Documentation (releases/README.md, HISTORY.md) is left out: people edit it while tests run."""
    import subprocess

    listed = subprocess.run(["git", "ls-files", "outputs", "reports", "releases/*/*"], cwd=ROOT,
                            capture_output=True, text=True).stdout.split()
    return {rel: (ROOT / rel).read_bytes() if (ROOT / rel).is_file() else None for rel in listed}


@pytest.fixture(scope="session", autouse=True)
def checkout_left_untouched():
    """A test writes into tmp, never into the checkout: a relative output path once made a test delete
    outputs/latency/load.csv here, and every later fresh-copy test then failed far from the cause."""
    before = _committed_results()
    yield
    after = _committed_results()
    changed = sorted(rel for rel in before if before[rel] != after.get(rel))
    assert not changed, f"the test session changed committed files in the checkout: {', '.join(changed)}"


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    """A real MLflow server on loopback for the module's tests, stopped by its own handle afterwards."""
    from dvc_project import start_mlflow

    proc, uri = start_mlflow(tmp_path_factory.mktemp("mlflow"))
    yield uri
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def scratch_registries():
    """What a test registers (preference scorers, plug-in metrics) is gone afterwards. The registry
    dicts are restored in place, never swapped: modules hold them by name from import time (a swapped
    dict is invisible to a module imported earlier, which made a plug-in test pass alone and fail in the suite)."""
    from sentinel.metrics import preference_registry, registry

    saved = [(d, dict(d)) for d in (preference_registry.REGISTRY, registry.REGISTRY)]
    yield
    for live, before in saved:
        live.clear()
        live.update(before)

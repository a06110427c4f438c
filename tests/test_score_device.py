"""score.device: asking for CUDA where none is visible is a config error before any work, naming the key;
the device the networks ran on is recorded in the score convention (gather compares conventions)."""
from __future__ import annotations

import pytest
import yaml

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's refusal")


def test_cuda_without_a_cuda_device_is_a_config_error():
    from sentinel.errors import ConfigError
    from sentinel.metrics.extract import device_label, resolve_device

    for asked in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match=r"score\.device: 'cuda(:1)?' requested but no CUDA device is visible"):
            resolve_device(asked)
    assert resolve_device("auto") == "cpu" and device_label(resolve_device("cpu")) == "cpu"
    with pytest.raises(ConfigError, match="score.device"):
        resolve_device("tpu")


def test_score_stage_refuses_cuda_before_reading_anything(tmp_path, root):
    from sentinel import score
    from sentinel.errors import ConfigError

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["score"]["device"] = "cuda"
    for key, value in params["paths"].items():  # nothing may land in the checkout
        if isinstance(value, str):
            params["paths"][key] = str(tmp_path / "out" / value)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=r"score\.device: 'cuda' requested"):
        score.run(path, model=next(iter(params["model"])))
    assert not (tmp_path / "out").exists()


def test_validate_names_a_bad_device():
    from sentinel import validate

    assert validate.SCORE_DEVICE.match("cuda:0") and validate.SCORE_DEVICE.match("auto")
    assert not validate.SCORE_DEVICE.match("gpu")

"""Configs compose, params.yaml is what conf/ composes to, and bad keys fail naming the key."""
from __future__ import annotations

import copy

import pytest
import yaml

from sentinel import config
from sentinel.compose import compose

GROUPS = ("suite", "model", "workload", "generate", "score", "cost", "latency", "report", "tracking")


def test_committed_params_yaml_is_the_default_composition(smoke_params):
    assert compose() == smoke_params, "params.yaml is stale: run `sentinel compose`"


@pytest.mark.parametrize("group", GROUPS)
def test_every_option_of_every_group_composes_and_validates(group, tmp_path):
    options = config.choices(group)
    assert options, f"conf/{group}/ has no options"
    for option in options:
        params = compose([f"{group}={option}"])
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(params))
        loaded = config.load(path)
        if group == "model":
            assert list(loaded["model"]) == [option]


def test_unknown_group_option_lists_valid_choices():
    with pytest.raises(Exception) as e:
        compose(["model=no-such-model"])
    assert "no-such-model" in str(e.value) and "tiny-sd" in str(e.value) and "tiny-sdxl" in str(e.value)
    with pytest.raises(Exception) as e:
        compose(["suite=nope"])
    assert "Available options in 'suite'" in str(e.value) and "smoke" in str(e.value)


def _write(tmp_path, params):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_unknown_key_is_named(tmp_path, smoke_params):
    params = copy.deepcopy(smoke_params)
    params["cost"]["price_usd_per_hr"] = 1.0
    with pytest.raises(config.ConfigError, match=r"cost\.price_usd_per_hr: unknown key"):
        config.load(_write(tmp_path, params), sections=("cost",))


def test_missing_key_is_named(tmp_path, smoke_params):
    params = copy.deepcopy(smoke_params)
    del params["score"]["human"]["raters"]
    with pytest.raises(config.ConfigError, match=r"score\.human\.raters: missing key"):
        config.load(_write(tmp_path, params), sections=("score",))


def test_wrong_type_is_named(tmp_path, smoke_params):
    params = copy.deepcopy(smoke_params)
    params["latency"]["requests"] = "many"
    with pytest.raises(config.ConfigError, match=r"latency\.requests: expected int"):
        config.load(_write(tmp_path, params), sections=("latency",))


def test_unknown_model_and_suite_in_params_list_valid_names(tmp_path, smoke_params):
    params = copy.deepcopy(smoke_params)
    params["model"]["dall-e-9"] = params["model"]["tiny-sd"]
    with pytest.raises(config.ConfigError, match=r"model\.dall-e-9: unknown model \(valid: .*tiny-sd"):
        config.load(_write(tmp_path, params), sections=("model",))
    params = copy.deepcopy(smoke_params)
    params["suite"]["name"] = "quarterly-9999"
    with pytest.raises(config.ConfigError, match=r"unknown suite 'quarterly-9999' \(valid: .*smoke"):
        config.load(_write(tmp_path, params), sections=("suite",))


def test_unknown_section_is_named(tmp_path, smoke_params):
    params = {**smoke_params, "scroe": {}}
    with pytest.raises(config.ConfigError, match=r"scroe: unknown section"):
        config.load(_write(tmp_path, params))


def test_config_objects_are_frozen(smoke_params, tmp_path):
    cfg = config.load(_write(tmp_path, smoke_params), sections=("cost",))["cost"]
    with pytest.raises(Exception):
        cfg.price_usd_per_hour = 0.0


def test_the_names_validation_restates_are_the_registries_themselves():
    """sentinel.validate lists valid names without importing torch; each list must equal its registry."""
    from sentinel import api, executors, validate
    from sentinel.latency import schedules
    from sentinel.models import loader, tiny
    from sentinel.report import composite

    assert set(validate.TINY_PIPELINES) == set(tiny.BUILDERS)
    assert set(validate.DTYPES) == {"auto", *loader.DTYPES} and set(validate.SOURCES) == set(loader.SOURCES)
    assert set(validate.API_PROTOCOLS) == set(api.PROTOCOLS)
    assert set(validate.EXECUTORS) == set(executors.EXECUTORS)
    assert set(validate.COMPONENTS) == set(composite.COMPONENTS)
    assert set(validate.ARRIVALS) <= set(schedules.KINDS)
    from sentinel.human import rubric

    assert validate.RUBRICS_DIR == rubric.RUBRICS_DIR and rubric.PREFIX == "human-"


def test_a_config_error_names_the_file_once_and_every_problem(tmp_path, smoke_params):
    params = copy.deepcopy(smoke_params)
    params["cost"]["utilisation"] = 0.0
    params["score"]["ci_level"] = 1.5
    path = _write(tmp_path, params)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    text = str(e.value)
    assert text.startswith(f"{path}: 2 config problems") and text.count(str(path)) == 1
    assert "  - cost.utilisation: must be a finite number in (0, 1], got 0.0" in text
    assert "  - score.ci_level: must be a finite number in (0, 1), got 1.5" in text


def test_plan_validates_the_composed_suite_naming_the_overrides(capsys):
    """`sentinel plan <overrides>` checks every section of the composition (latency too, which the plan
    does not read) before planning, and names what the user wrote rather than a temporary file."""
    from sentinel import cli

    assert cli.main(["plan", "latency.arrival=poison", "cost.utilisation=0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sentinel plan: error: conf/ with overrides latency.arrival=poison cost.utilisation=0: "
                          "2 config problems")
    assert "  - latency.arrival: unknown 'poison'" in err and "  - cost.utilisation: must be" in err
    assert cli.main(["plan", "model=tiny-sd"]) == 0 and "| tiny-sd |" in capsys.readouterr().out

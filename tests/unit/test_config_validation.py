"""Bad config values are refused at load, by `sentinel plan` before any work, naming the file and the key.

Each case writes the committed params.yaml with one bad value into a temporary folder and runs the
real command line in-process (`sentinel.cli.main(["plan", "--params", ...])`): the exit code is 2,
stderr names the file and the key, and nothing but the params file exists afterwards.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from sentinel import cli, config, validate

ROOT = Path(__file__).resolve().parents[2]


def _set(path: str, value):
    """A mutation that sets the dotted `path` (e.g. 'cost.utilisation') to `value`."""
    def mutate(p: dict) -> None:
        *parents, leaf = path.split(".")
        node = p
        for key in parents:
            node = node[key]
        node[leaf] = value
    return mutate


def _pretrained_missing_three(p: dict) -> None:
    cfg = yaml.safe_load((ROOT / "conf/model/flux2-dev.yaml").read_text())["flux2-dev"]
    for key in ("repo_id", "revision", "pipeline"):
        del cfg[key]
    p["model"] = {"flux2-dev": cfg}


CASES = {  # id: (mutation, keys the one message must name)
    "weights sum to 1.1": (_set("report.weights.fid", 0.5), ["report.weights"]),
    "weights name an unknown part": (_set("report.weights", {"fid": 0.4, "clip": 0.3, "humans": 0.3}),
                                     ["report.weights.humans", "report.weights.human"]),
    "ci_level above 1": (_set("score.ci_level", 1.5), ["score.ci_level"]),
    "ci_level 0": (_set("score.ci_level", 0.0), ["score.ci_level"]),
    "arrival misspelled": (_set("latency.arrival", "poison"), ["latency.arrival"]),
    "utilisation 0": (_set("cost.utilisation", 0.0), ["cost.utilisation"]),
    "utilisation above 1": (_set("cost.utilisation", 1.2), ["cost.utilisation"]),
    "sensitivity holds 0": (_set("cost.utilisation_sensitivity", [0.5, 0.0]), ["cost.utilisation_sensitivity[1]"]),
    "fee fraction 1": (_set("cost.platform_fee_fraction", 1.0), ["cost.platform_fee_fraction"]),
    "negative price": (_set("cost.price_usd_per_hour", -1.0), ["cost.price_usd_per_hour"]),
    "NaN price": (_set("cost.price_usd_per_hour", math.nan), ["cost.price_usd_per_hour"]),
    "as_of not a date": (_set("cost.as_of", "last week"), ["cost.as_of"]),
    "unknown cost key": (_set("cost.price_usd_per_hr", 1.0), ["cost.price_usd_per_hr"]),
    "unknown executor": (_set("generate.executor", "slurm"), ["generate.executor"]),
    "misspelled reference category": (_set("workload.reference", {"corporate_headshots": "data/reference"}),
                                      ["workload.reference.corporate_headshots"]),
    "reference folder missing": (_set("workload.reference", {"corporate_headshot": "no/such/folder"}),
                                 ["workload.reference.corporate_headshot"]),
    "kid subset 0": (_set("score.kid_subset_size", 0), ["score.kid_subset_size"]),
    "bootstrap 0": (_set("score.bootstrap_samples", 0), ["score.bootstrap_samples"]),
    "gold accuracy above 1": (_set("score.human.gold_min_accuracy", 1.5), ["score.human.gold_min_accuracy"]),
    "unknown rubric": (_set("score.human.rubric", "human-v9"), ["score.human.rubric"]),
    "unknown preference model": (_set("score.preference_models", ["imagerewards"]), ["score.preference_models"]),
    "unknown dtype": (_set("model.tiny-sd.dtype", "float8"), ["model.tiny-sd.dtype"]),
    "no tiny builder": (_set("model.tiny-sd.pipeline", "NoSuchPipeline"), ["model.tiny-sd.pipeline"]),
    "unknown source": (_set("model.tiny-sd.source", "civitai"), ["model.tiny-sd.source"]),
    "unknown device": (_set("model.tiny-sd.device", "tpu"), ["model.tiny-sd.device"]),
    "zero steps": (_set("model.tiny-sdxl.steps", 0), ["model.tiny-sdxl.steps"]),
    "percentile above 100": (_set("latency.slo_percentile", 101), ["latency.slo_percentile"]),
    "host not loopback": (_set("latency.host", "0.0.0.0"), ["latency.host"]),
    "search bracket reversed": (_set("latency.search_fractions", [2.0, 0.5]), ["latency.search_fractions"]),
    "requests not a number": (_set("latency.requests", "many"), ["latency.requests"]),
    "two outputs one path": (_set("paths.report", "reports/leaderboard.json"), ["paths.report"]),
    "pretrained model missing three keys": (_pretrained_missing_three,
                                            ["model.flux2-dev.repo_id", "model.flux2-dev.revision",
                                             "model.flux2-dev.pipeline"]),
}


def _write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_plan_refuses_a_bad_value_naming_file_and_key(case, smoke_params, tmp_path, monkeypatch, capsys):
    mutate, keys = CASES[case]
    params = copy.deepcopy(smoke_params)
    mutate(params)
    path = _write(tmp_path, params)
    monkeypatch.chdir(tmp_path)  # any relative output path would land here
    code = cli.main(["plan", "--params", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"sentinel plan: error: {path}: ") and "Traceback" not in err
    for key in keys:
        assert f"{key}:" in err or f"{key} " in err, f"{key} not named in: {err}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"], "nothing may be written"


def test_the_battery_is_large_enough_and_the_committed_params_pass(smoke_params, tmp_path):
    assert len(CASES) >= 20
    assert set(config.load(_write(tmp_path, smoke_params))) == {*config.SECTIONS, "model"}


def test_plan_runs_on_the_unmodified_params_and_writes_nothing(smoke_params, tmp_path, monkeypatch, capsys):
    """The control case: the same command on valid params plans the suite (so the refusals above are
    the validation's doing, not a broken command)."""
    params = copy.deepcopy(smoke_params)
    params["workload"]["jobs"] = str(ROOT / params["workload"]["jobs"])
    path = _write(tmp_path, params)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["plan", "--params", str(path)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"{len(params['model'])} models" in out and "| tiny-sd |" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_all_problems_come_in_one_message(smoke_params, tmp_path):
    params = copy.deepcopy(smoke_params)
    for key, value in [("report.weights.fid", 0.5), ("score.ci_level", 1.5), ("latency.arrival", "poison"),
                       ("cost.utilisation", 0.0), ("workload.reference", {"corporate_headshots": "x"})]:
        _set(key, value)(params)
    del params["tracking"]["experiment"]  # a key problem in another section (a section whose keys are
    #                                        wrong is range-checked once they are right)
    path = _write(tmp_path, params)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    expected = ["report.weights:", "score.ci_level:", "latency.arrival:", "cost.utilisation:",
                "workload.reference.corporate_headshots:", "tracking.experiment: missing key"]
    assert len(e.value.problems) == len(expected), e.value.problems
    for key in expected:
        assert sum(key in p for p in e.value.problems) == 1, (key, e.value.problems)
    assert str(e.value).startswith(f"{path}: 6 config problems")


def test_only_the_loaded_sections_are_checked(smoke_params, tmp_path):
    """A stage loads the sections it reads: a bad latency value does not stop the cost stage."""
    params = copy.deepcopy(smoke_params)
    _set("latency.arrival", "poison")(params)
    path = _write(tmp_path, params)
    assert config.load(path, sections=("cost", "paths"))["cost"].utilisation == smoke_params["cost"]["utilisation"]
    valid = ", ".join(validate.ARRIVALS)
    with pytest.raises(config.ConfigError, match=rf"latency\.arrival: unknown 'poison' \(valid: {valid}\)"):
        config.load(path, sections=("latency",))


def test_range_bounds_are_exact():
    """Closed and open ends: the bound itself is accepted or refused as stated."""
    p = validate._Problems()
    p.number("a", 1.0, 0, 1, lo_open=True)          # (0, 1]: 1 is in
    p.number("b", 0.0, 0, 1, hi_open=True)          # [0, 1): 0 is in
    assert p == []
    p.number("c", 0.0, 0, 1, lo_open=True)          # (0, 1]: 0 is out
    p.number("d", 1.0, 0, 1, hi_open=True)          # [0, 1): 1 is out
    p.number("e", math.inf, 0)                      # finite only
    p.number("f", True, 0)                          # a bool is not a number
    assert [x.split(":")[0] for x in p] == ["c", "d", "e", "f"]
    assert p[0] == "c: must be a finite number in (0, 1], got 0.0"

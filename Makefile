# Two commands for a fresh machine:
#   make bench   set up .venv from pyproject.toml, fetch the pinned reference photos, reproduce the default suite
#   make test    same set-up, then the whole test suite: the unit lane first (seconds), then the rest
#                on 2 pytest-xdist workers, one test file per worker (module fixtures are built once);
#                much of the suite waits on servers, Ray and browsers, so 2 workers keep both cores busy;
#                the two release-verify files run after, alone (under xdist their DVC fetch of the published
#                images found no default remote in the clone; serially they pass)
# Lanes: make test-fast (tests/unit: pure, no torch, < 60 s), make test-slow (DVC/MLflow/servers/Ray),
# make test-gpu (CUDA; skipped without a visible device).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DVC_NO_ANALYTICS := 1
WEIGHTS := weights/inception-smoke.pt weights/clip-ViT-B-32-smoke.pt weights/dinov2-tiny14-smoke.pt \
  weights/video-tiny-smoke.pt weights/lpips-alex-backbone-smoke.pt weights/lpips-alex-lin-smoke.pt

.PHONY: bench test test-fast test-slow test-gpu setup data weights clean
bench: setup data weights
	dvc repro
	@echo "leaderboard: reports/leaderboard.json, report: reports/report.md"

test: setup data weights
	python -m pytest -q -p no:cacheprovider tests/unit
	python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=30 --ignore=tests/unit \
	  --ignore=tests/test_release_committed.py --ignore=tests/test_release_e2e.py
	python -m pytest -q -p no:cacheprovider --durations=10 tests/test_release_committed.py tests/test_release_e2e.py

test-fast: setup
	python -m pytest -q -p no:cacheprovider tests/unit

test-slow: setup data weights
	python -m pytest -q -p no:cacheprovider -m slow

test-gpu: setup data weights
	python -m pytest -q -p no:cacheprovider -m gpu -rs

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# The pinned reference photos come from the in-repo DVC remote (dvc-store/): no network needed.
data: setup
	dvc pull -q data.dvc

# Seeded random metric networks for the smoke suite, generated locally (deterministic bytes).
weights: setup
	sentinel weights --out weights/

clean:
	rm -rf outputs reports weights mlflow.db mlruns mlartifacts

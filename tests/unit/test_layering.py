"""The house plan holds: no import cycles, and only the compute packages import torch at import time."""
from __future__ import annotations

import subprocess
import sys

import importgraph

HEAVY = {"torch", "torchvision", "diffusers", "transformers", "open_clip", "torch_fidelity", "torchmetrics"}
# Packages whose job is to run networks; everything else must import without torch.
COMPUTE = ("sentinel.models", "sentinel.metrics", "sentinel.executors", "sentinel.latency",
           # the media families' tiny pipeline builders (their config, jobs and stages stay light)
           "sentinel.video.tiny_wan", "sentinel.tryon.tiny_pipeline")
LIGHT_EXCEPTIONS = {"sentinel.models", "sentinel.models.cards", "sentinel.models.outputs", "sentinel.metrics",
                    "sentinel.executors.batches"}


def _is_compute(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in COMPUTE)


def test_no_import_cycles():
    assert importgraph.cycles() == []


def test_no_import_cycles_even_counting_lazy_imports():
    graph = {m: importgraph.imports(m, lazy=True)[0] for m in importgraph.module_files()}
    bad = [(a, b) for a, deps in graph.items() for b in deps
           if a != b and a in importgraph.closure(b, lazy=True) and not (a.startswith(b + ".") or b.startswith(a + "."))]
    assert bad == [], f"mutual (lazy) imports: {bad}"


def test_only_compute_packages_import_torch_at_import_time():
    offenders = {m: sorted(importgraph.external_closure(m) & HEAVY) for m in importgraph.module_files()
                 if (not _is_compute(m) or m in LIGHT_EXCEPTIONS) and importgraph.external_closure(m) & HEAVY}
    assert offenders == {}, f"modules that import heavy packages at import time: {offenders}"


def test_the_layering_test_can_fail(tmp_path, monkeypatch):
    """A module outside the compute packages that imports torch is caught (shown on a copy)."""
    pkg = tmp_path / "sentinel"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from sentinel import b\n")
    (pkg / "b.py").write_text("import torch\nfrom sentinel import a\n")
    monkeypatch.setattr(importgraph, "SRC", tmp_path)
    importgraph.imports.cache_clear()
    try:
        assert importgraph.cycles() == [["sentinel.a", "sentinel.b"]]
        assert importgraph.external_closure("sentinel.a") == {"torch"}
    finally:
        importgraph.imports.cache_clear()


def test_model_cards_import_without_heavy_packages():
    code = ("import sys, time; t = time.perf_counter(); import sentinel.models.cards; "
            "print(time.perf_counter() - t, any(m in sys.modules for m in ('torch', 'diffusers', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False", "import sentinel.models.cards loaded torch, diffusers or numpy"
    # (its wall time, ~0.1 s here, is measured in benchmarks/, not asserted)

"""The release fingerprint: every input and setting a published number depends on, field by field.

A fingerprint is a nested dict (stored as `fingerprint.json` in a release). Flattened, each leaf is
one named field (`weights.score.inception_weights`, `libraries.torchmetrics`, `images.tiny-sd/hs-001.png`),
and the groups come in a fixed order, so on a mismatch the verifier can name the FIRST field that
differs, the most likely cause first:

    images -> media -> weights -> data -> workload -> params -> convention -> libraries -> hardware
    -> load -> code -> git

(`media`: the sha256 of every published clip / try-on result, `media.<family>.<model>/<job>.png`,
only in releases whose params name media models; their weights files and workloads join `weights`
and `workload` as `<family>.<section>.<key>` and `<family>.*`.)

and the headline (`first_difference`) prefers a field that can change a number by itself (strict),
then where it ran (platform), and only then code-only fields (info): while HEAD differs from the
release commit every code file differs, and naming one of them first hides the real cause.

Each field has a class:
- strict:   an input or a convention; a difference fails verification by itself;
- platform: where it ran (device, CUDA, driver, CPU, python); a difference selects the
            other-hardware tolerances and never fails by itself;
- info:     the code, commit and machine load; a difference explains a mismatch but never fails
            by itself (load explains timing rows outside their band).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sentinel.provenance import (dvc_dir_md5, environment, git, hardware, params_sha256, sha256_file,
                                 weights_files_sha256)

GROUPS = ("images", "media", "weights", "data", "workload", "params", "convention", "libraries", "hardware", "load",
          "code", "git")
STRICT_GROUPS = frozenset({"images", "media", "weights", "data", "workload", "params", "convention", "libraries"})
CLASS_ORDER = ("strict", "platform", "info")
PLATFORM_GROUPS = frozenset({"hardware"})
# Recorded with the library versions by provenance.environment(), but they describe the platform.
PLATFORM_LIBRARY_FIELDS = frozenset({"libraries.python", "libraries.platform"})


@dataclass(frozen=True)
class Difference:
    field: str
    published: Any
    current: Any
    cls: str  # strict | platform | info


def field_class(name: str, lenient_libraries: bool = False) -> str:
    group = name.split(".", 1)[0]
    if group == "libraries" and (name in PLATFORM_LIBRARY_FIELDS or lenient_libraries):
        return "platform"
    if group in STRICT_GROUPS:
        return "strict"
    return "platform" if group in PLATFORM_GROUPS else "info"


def dotted_fields(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1, 'c': {}}} -> {'a.b': 1, 'a.c': {}} (an empty mapping stays a field's value)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(dotted_fields(value, name + "."))
        else:
            flat[name] = value
    return flat


def differences(published: dict, current: dict, lenient_libraries: bool = False) -> list[Difference]:
    """Every field that differs, in group order (then field order of the published fingerprint).

    A group absent from `current` was not measured (for instance `convention` before re-scoring) and
    is not compared; a field absent from one side of a measured group is a difference."""
    out = []
    for group in GROUPS:
        if group not in current or group not in published:
            continue
        pub, cur = dotted_fields(published[group], group + "."), dotted_fields(current[group], group + ".")
        for name in [*pub, *(k for k in cur if k not in pub)]:
            a, b = pub.get(name, "(absent)"), cur.get(name, "(absent)")
            if a != b:
                out.append(Difference(name, a, b, field_class(name, lenient_libraries)))
    return out


def first_difference(diffs: list[Difference]) -> Difference | None:
    """The most likely cause: the first strict field, else the first platform one, else code/info."""
    for cls in CLASS_ORDER:
        for d in diffs:
            if d.cls == cls:
                return d
    return None


def machine_load() -> dict:
    """Load averages when the numbers were measured (timings depend on them; info, never a failure)."""
    import os

    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return {}
    return {"loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2), "loadavg_15m": round(fifteen, 2),
            "cpu_count": os.cpu_count()}


MEDIA_FAMILIES = ("video", "tryon")
MEDIA_WORKLOAD_FILES = ("jobs", "pairs")  # files a media workload names (try-on: its pairs manifest too)


def _media_sections(params: dict) -> dict[str, dict]:
    """The media sections that name models (a family without models is not part of the numbers)."""
    return {f: params[f] for f in MEDIA_FAMILIES if isinstance(params.get(f), dict) and params[f].get("models")}


def workload_hashes(root: Path, params: dict) -> dict:
    """The job set itself: the same workload name with other bytes is a different benchmark."""
    out = {}
    jobs = params.get("workload", {}).get("jobs")
    if jobs:
        path = root / jobs
        out = {"jobs": jobs, "sha256": sha256_file(path) if path.is_file() else "(missing)"}
    for family, body in _media_sections(params).items():
        wl = body.get("workload") if isinstance(body.get("workload"), dict) else {}
        for key in MEDIA_WORKLOAD_FILES:
            if isinstance(wl.get(key), str) and wl[key]:
                path = root / wl[key]
                out.setdefault(family, {})[key] = {"path": wl[key],
                                                   "sha256": sha256_file(path) if path.is_file() else "(missing)"}
    return out


def media_weights(params: dict) -> dict[str, str]:
    """`<family>.<section>.<key>` -> path for each `*_weights` file a media family's sections name."""
    found = {}
    for family, body in _media_sections(params).items():
        for section, inner in body.items():
            if isinstance(inner, dict):
                for key, value in inner.items():
                    if key.endswith("_weights") and isinstance(value, str) and value:
                        found[f"{family}.{section}.{key}"] = value
    return found


def code_files(root: Path, dvc_yaml: str = "dvc.yaml") -> list[str]:
    """Every file the stages list as a dependency in dvc.yaml (templated `${...}` deps are data, not code)."""
    stages = (yaml.safe_load((root / dvc_yaml).read_text()) or {}).get("stages", {})
    files: set[str] = set()
    for stage in stages.values():
        for dep in stage.get("deps", []):
            dep = dep if isinstance(dep, str) else next(iter(dep))
            if "${" in dep:
                continue
            path = root / dep
            if path.is_file():
                files.add(dep)
            elif path.is_dir():
                files.update(p.relative_to(root).as_posix() for p in path.rglob("*")
                             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return sorted(files)


def code_hashes(root: Path) -> dict[str, str]:
    return {rel: sha256_file(root / rel) for rel in code_files(root)}


def params_hashes(params: dict) -> dict[str, str]:
    """The whole params hash, then one hash per section, so a difference names the section."""
    return {"sha256": params_sha256(params),
            **{section: params_sha256({section: body}) for section, body in params.items()}}


def image_hashes(records: list[dict]) -> dict[str, str]:
    return {r["image"]: r["sha256"] for r in records}


def images_on_disk(records: list[dict], images_dir: Path) -> dict[str, str]:
    """sha256 of each record's image file under `images_dir` ("(missing)" when the file is absent)."""
    return {r["image"]: sha256_file(images_dir / r["image"]) if (images_dir / r["image"]).is_file()
            else "(missing)" for r in records}


def environment_groups() -> dict:
    """Libraries and hardware; the hardware adds the CPU kernel identity (cpu_identity.py: the model
    name alone did not tell apart two machines whose float results differ)."""
    from sentinel.release.cpu_identity import cpu_identity

    return {"libraries": environment(), "hardware": {**hardware(), **cpu_identity()}}


def collect(root: Path, params: dict, images: dict[str, str], convention: dict | None,
            media: dict | None = None) -> dict:
    """The fingerprint of this checkout and machine for `params`, with the given image hashes (and,
    for a release with media models, `media`: per family, its outputs' hashes).

    Weights and data paths in params are relative to `root`."""
    weights = {}
    for key, entry in weights_files_sha256(_rooted(params, root)).items():
        weights[key] = entry["sha256"] or "(missing)"
    for key, path in media_weights(params).items():
        weights[key] = sha256_file(root / path) if (root / path).is_file() else "(missing)"
    data_dir = root / params.get("paths", {}).get("data", "data")
    fp = {"images": images, "weights": weights,
          "data": {"md5": dvc_dir_md5(data_dir) if data_dir.is_dir() else "(missing)"},
          "workload": workload_hashes(root, params), "params": params_hashes(params), **environment_groups(),
          "load": machine_load(),
          "code": code_hashes(root), "git": {"commit": git("-C", str(root), "rev-parse", "HEAD")}}
    if convention is not None:
        fp["convention"] = convention
    if media:
        fp = {"images": fp.pop("images"), "media": media, **fp}
    return fp


def _rooted(params: dict, root: Path) -> dict:
    """A copy of params whose weights paths are resolved against root (they are relative to the repo)."""
    out = {}
    for section, body in params.items():
        if isinstance(body, dict):
            body = {k: str(root / v) if k.endswith("_weights") and isinstance(v, str) and v else v
                    for k, v in body.items()}
        out[section] = body
    return out

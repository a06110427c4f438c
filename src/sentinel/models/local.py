"""`source: local`: your own checkpoint, a `save_pretrained` folder, pinned by its content hash.

    my-model:                       # conf/model/my-model.yaml: one file, plus docs/models/my-model.md
      display_name: My model
      pipeline: StableDiffusionPipeline
      source: local
      folder: /checkpoints/my-model          # what `pipe.save_pretrained(folder)` wrote
      load_kwargs:                           # passed to `<pipeline>.from_pretrained(folder, ...)`
        safety_checker: null                 # null: load the pipeline without this component
        text_encoder: {class: CLIPTextModel, folder: /checkpoints/te}   # a component saved elsewhere
        variant: fp16                        # anything else is passed as it is
      steps: 4
      guidance: 0.0
      dtype: auto
      device: auto
      licence: internal
      plumbing: false

A hub checkpoint is pinned by its commit; a folder has none, so its **content hash** takes the
revision's place: sha256 over the sorted relative paths and bytes of every file under `folder` and
under each component `folder` named in `load_kwargs` (`content_sha256`). It is part of the model's
recipe (so changed weights regenerate the model's images), every generate record carries it, and the
report prints it where a hub model's revision goes. `revision`, when set, must equal it: the run
refuses a folder whose files changed since the config was written.

A `load_kwargs` value that is a mapping with `class` is a component: `class` (a diffusers or
transformers class name) `.from_pretrained(folder, subfolder=...)`, in the model's dtype. This is
how a checkpoint saved without a component (SD3 without its T5 encoder: `text_encoder_3: null`) or
with one saved apart is loaded, as plain diffusers would. Nothing here imports torch until a
pipeline is built, so hashing (the recipe and report stages) stays light.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any


def _files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file under `folder` (symlinked files followed, as from_pretrained does), by relative path."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file():
                out.append((path.relative_to(folder).as_posix(), path))
    return sorted(out)


@functools.lru_cache(maxsize=32)
def _hash(folder: str, signature: tuple) -> str:
    h = hashlib.sha256()
    for rel, path in _files(Path(folder)):
        h.update(rel.encode("utf-8") + b"\0")
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def folder_sha256(folder: str | Path) -> str:
    """sha256 over sorted relative paths + file bytes; hashed once per (folder, file sizes, mtimes)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: checkpoint folder not found")
    signature = tuple((rel, p.stat().st_size, p.stat().st_mtime_ns) for rel, p in _files(folder))
    return _hash(str(folder.resolve()), signature)


def component_folders(load_kwargs: dict[str, Any]) -> dict[str, str]:
    """load_kwargs key -> folder, for the values that build a component."""
    return {k: v["folder"] for k, v in load_kwargs.items() if isinstance(v, dict) and "class" in v}


def content_sha256(cfg) -> str:
    """The checkpoint's content hash: the folder's, combined with each component folder's (by key)."""
    parts = [("folder", folder_sha256(cfg.folder))]
    parts += [(f"load_kwargs.{k}", folder_sha256(f)) for k, f in sorted(component_folders(cfg.load_kwargs).items())]
    if len(parts) == 1:
        return parts[0][1]
    return hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in parts).encode()).hexdigest()


def check_pinned(cfg) -> str:
    """The content hash; a set `revision` that differs is refused (the files changed under the config)."""
    digest = content_sha256(cfg)
    if cfg.revision is not None and cfg.revision != digest:
        raise ValueError(f"model.{cfg.name}.revision: {cfg.revision!r} pins the folder's content, but "
                         f"{cfg.folder} now hashes to {digest}; its files changed (set revision to the new "
                         "hash, or null to use whatever the folder holds)")
    return digest


def _component_class(name: str, where: str):
    import diffusers
    import transformers

    for module in (diffusers, transformers):
        if hasattr(module, name):
            return getattr(module, name)
    raise ValueError(f"{where}.class: {name!r} is neither a diffusers nor a transformers class")


def resolve_load_kwargs(cfg, dtype) -> dict[str, Any]:
    """load_kwargs as from_pretrained takes them: component mappings built, everything else as written."""
    out = {}
    for key, value in cfg.load_kwargs.items():
        if isinstance(value, dict) and "class" in value:
            cls = _component_class(value["class"], f"model.{cfg.name}.load_kwargs.{key}")
            sub = {"subfolder": value["subfolder"]} if value.get("subfolder") else {}
            out[key] = cls.from_pretrained(value["folder"], torch_dtype=dtype, **sub)
        else:
            out[key] = value
    return out


def load_local(cfg, dtype):
    """The pipeline class from the folder, with load_kwargs, after checking the pinned content hash."""
    import diffusers

    check_pinned(cfg)
    pipe_cls = getattr(diffusers, cfg.pipeline)
    return pipe_cls.from_pretrained(cfg.folder, torch_dtype=dtype, local_files_only=True,
                                    **resolve_load_kwargs(cfg, dtype))

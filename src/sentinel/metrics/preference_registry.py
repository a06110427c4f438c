"""The preference-model registry itself: names, weights files, sources and plugged-in scorers.

Pure data (a dataclass and a dict), so config validation (sentinel.validate) checks
`score.preference_models` against the live registry without importing any metric code: a stage
that only loads the model or workload section does not depend on the metrics package.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PreferenceModel:
    name: str
    weights_file: str  # expected under score.preference_weights_dir
    source: str        # where the official weights come from
    factory: Callable | None = None


REGISTRY: dict[str, PreferenceModel] = {
    "imagereward": PreferenceModel("imagereward", "ImageReward.pt", "hf.co/THUDM/ImageReward (ImageReward-v1.0)"),
    "hpsv2": PreferenceModel("hpsv2", "HPS_v2.1_compressed.pt", "hf.co/xswu/HPSv2 (HPS v2.1)"),
    "pickscore": PreferenceModel("pickscore", "PickScore_v1", "hf.co/yuvalkirstain/PickScore_v1"),
}


def register(name: str, factory: Callable) -> None:
    """Plug a scorer into a registered slot (or a new one whose weights file is `name`)."""
    entry = REGISTRY.get(name, PreferenceModel(name, name, "user-registered"))
    REGISTRY[name] = PreferenceModel(entry.name, entry.weights_file, entry.source, factory)

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
    factory: Callable | str | None = None  # (weights_path) -> scorer, or its "module:function"


REGISTRY: dict[str, PreferenceModel] = {
    "imagereward": PreferenceModel("imagereward", "ImageReward.pt", "hf.co/THUDM/ImageReward (ImageReward-v1.0)"),
    # Shipped plug-ins (metrics/plugins/): the factory is "module:function", imported only when scoring.
    "hpsv2": PreferenceModel("hpsv2", "HPS_v2.1_compressed.pt", "hf.co/xswu/HPSv2 (HPS v2.1)",
                             "sentinel.metrics.plugins.hpsv2:load"),
    "pickscore": PreferenceModel("pickscore", "PickScore_v1", "hf.co/yuvalkirstain/PickScore_v1 (model) + "
                                 "hf.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K (processor), one folder",
                                 "sentinel.metrics.plugins.pickscore:load"),
}


def register(name: str, factory: Callable) -> None:
    """Plug a scorer into a registered slot (or a new one whose weights file is `name`)."""
    entry = REGISTRY.get(name, PreferenceModel(name, name, "user-registered"))
    REGISTRY[name] = PreferenceModel(entry.name, entry.weights_file, entry.source, factory)

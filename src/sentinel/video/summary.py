"""Per-model intervals over clips, with the production checks' helpers (sentinel.checks.summary).

* "mean" dimensions (subject consistency, flicker, smoothness, CLIP score): percentile bootstrap
  over clips, seeded from the sorted clip ids, so reordering clips changes no number.
* "rate" dimensions (dynamic degree, frozen, looping): Wilson score interval for k of n clips.
* FVD is a set statistic, not a mean over clips: its interval is `sentinel.video.fvd.fvd_interval`
  (half-sampling of both sets).
Each entry carries its definition, n, level and method, so a number never travels without them.
"""
from __future__ import annotations

from sentinel.checks import summary as checks_summary
from sentinel.video.per_clip import DIMENSIONS


def summarise(rows: dict[str, dict], level: float, draws: int = 1000) -> dict:
    """{dimension: {"value", "ci", "ci_level", "ci_method", "n", "kind", "definition"}} over clips.

    `rows` maps clip id -> `per_clip.score_clip` output; a dimension absent from every row is skipped,
    one present in some rows only is an error (it would silently change n between dimensions).
    """
    if not 0 < level < 1:
        raise ValueError(f"CI level must be in (0, 1), got {level}")
    out = {}
    for name, (kind, definition) in DIMENSIONS.items():
        have = {cid: row[name] for cid, row in rows.items() if name in row}
        if not have:
            continue
        if len(have) != len(rows):
            missing = sorted(set(rows) - set(have))[:5]
            raise ValueError(f"video summary: {name!r} is missing for clips {missing}")
        if kind == "rate":
            entry = checks_summary.rate({cid: bool(v) for cid, v in have.items()}, level)
        else:
            entry = checks_summary.mean({cid: float(v) for cid, v in have.items()}, level, draws=draws)
        out[name] = {**entry, "definition": definition}
    return out

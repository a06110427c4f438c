"""The declared tolerances: one table, first matching rule wins. releases/README.md shows this table
(rendered by `markdown_table()`; a test keeps the two identical).

A number is addressed as `<file>:<dotted key>`, with list items named by their `model` (or index):
`score:models.tiny-sd.overall.fid`, `leaderboard:models.tiny-sd.composite`, `images:tiny-sd/hs-001.png`.

Each rule says what its number depends on, which picks one of its two tolerances:
- `platform`: quality computed from fixed inputs. Bit-exact on the same platform (same device, CPU,
  CUDA, driver and python; library versions must match anyway); the stated band on other hardware.
- `timing`: measured wall-clock time, or arithmetic on it (cost). Exact when recomputed from the
  published timings (`--rescore`); a ratio band when re-measured (`--regenerate`), on any hardware.
- `nothing`: inputs, counts and identities: always exact.

The media families (video, try-on) are addressed `<family>.<file>:<key>` (`video.scores:tiny-wan.fvd`,
`tryon.leaderboard:models.tiny-tryon.latency_p95_s`); their latency, leaderboard and metrics files get
the image rules of the same kind (`latency:*` -> `*.latency:*`; `leaderboard:*` -> `*.leaderboard:*`
and `*.metrics:*`, whose flat scalars are leaderboard columns), so a p95 or a cost from measured
seconds is timing-class there too; their quality scores are bit-exact on the same platform.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Tolerance:
    kind: str  # exact | band | ratio | length | skip
    rel: float = 0.0
    abs: float = 0.0
    lo: float = 1.0
    hi: float = 1.0
    why: str = ""

    def describe(self) -> str:
        if self.kind == "band":
            parts = [f"±{self.rel:.3g} rel" if self.rel else "", f"±{self.abs:.3g} abs" if self.abs else ""]
            return "band " + " + ".join(p for p in parts if p)
        if self.kind == "ratio":
            return f"ratio {self.lo:g}–{self.hi:g}×"
        if self.kind == "length":
            return "count only"
        return self.kind

    def accepts(self, published: float, current: float) -> bool:
        if self.kind == "exact":
            return published == current or (math.isnan(published) and math.isnan(current))
        if self.kind == "band":
            return abs(current - published) <= self.abs + self.rel * abs(published)
        if self.kind == "ratio":
            if published == 0 or current == 0:
                return published == current
            return self.lo <= current / published <= self.hi
        return True  # length (checked on the list) and skip


EXACT = Tolerance("exact")


def Band(rel: float = 0.0, abs: float = 0.0) -> Tolerance:  # noqa: N802 - reads like a unit
    return Tolerance("band", rel=rel, abs=abs)


def Ratio(lo: float, hi: float) -> Tolerance:  # noqa: N802
    return Tolerance("ratio", lo=lo, hi=hi)


def Skip(why: str) -> Tolerance:  # noqa: N802
    return Tolerance("skip", why=why)


LENGTH = Tolerance("length")
TIMING_BAND = Ratio(0.25, 4.0)
QUALITY_BAND = Band(rel=0.02)


@dataclass(frozen=True)
class Rule:
    pattern: str
    depends_on: str  # nothing | platform | timing
    deterministic: Tolerance  # same platform (platform) / published timings (timing) / always (nothing)
    otherwise: Tolerance  # other hardware (platform) / re-measured timings (timing)
    why: str


def _always(pattern: str, why: str) -> Rule:
    return Rule(pattern, "nothing", EXACT, EXACT, why)


def _skip(pattern: str, why: str) -> Rule:
    return Rule(pattern, "nothing", Skip(why), Skip(why), why)


IMAGE_RULES: tuple[Rule, ...] = (
    _skip("*:*provenance*", "fingerprint fields, compared one by one (see Fingerprint)"),
    _skip("score:environment*", "library versions: fingerprint fields `libraries.*`"),
    _skip("*:*note*", "free text"),
    _skip("*:*description*", "free text"),
    _always("images:*", "the published image bytes (sha256)"),
    Rule("records:*.sha256", "platform", EXACT, Skip("pixels may differ across hardware"),
         "regenerated image bytes; on other hardware their quality metrics carry the band"),
    _always("records:*", "job identity: prompt, seed, size, steps"),
    _always("score:convention*", "the convention is part of the number"),
    _always("*:*.n_*", "sample sizes and counts"),
    _always("score:*human*", "ratings are published data or a seeded simulation"),
    Rule("score:*fid*", "platform", EXACT, Band(rel=0.02), "FID ±2 % (MLPerf's SDXL gate)"),
    Rule("score:*kid*", "platform", EXACT, Band(rel=0.05, abs=1e-4), "KID is near 0: an absolute floor"),
    Rule("score:*clip*", "platform", EXACT, Band(rel=0.002, abs=0.01),
         "CLIP ±0.2 % (MLPerf) + 0.01 points for scores near 0"),
    Rule("score:*cmmd*", "platform", EXACT, Band(rel=0.02), "CMMD, like FID"),
    Rule("score:*", "platform", EXACT, QUALITY_BAND, "any other quality number"),
    _always("cost:price_card*", "the dated price card is an input"),
    Rule("cost:*", "timing", EXACT, TIMING_BAND, "arithmetic on timings"),
    _always("latency:config*", "the measurement's settings"),
    Rule("latency:*per_request*", "timing", EXACT, LENGTH, "single samples: the count must match"),
    Rule("latency:*schedule_lag*", "timing", EXACT, Skip("client diagnostic"),
         "the load client's own lag (µs to ms): a health check of the client, not a claim"),
    Rule("latency:*.load*", "timing", EXACT, Skip("load-curve points"),
         "points of the load curve depend on the measured service rate; its summary carries the band"),
    Rule("latency:*rate_search*", "timing", EXACT, Skip("search steps"),
         "the rate search's steps follow the measured rates; its result carries the band"),
    Rule("latency:*client_bound*", "timing", EXACT, Skip("verdict on re-measured timings"),
         "whether the load client lagged: a health flag of this run's client, not a claim"),
    Rule("latency:*", "timing", EXACT, TIMING_BAND, "wall-clock time, end to end"),
    _always("leaderboard:price_card*", "the dated price card is an input"),
    Rule("leaderboard:*cost*", "timing", EXACT, TIMING_BAND, "cost per image, from timings"),
    Rule("leaderboard:*latency*", "timing", EXACT, TIMING_BAND, "latency percentiles"),
    Rule("leaderboard:*cold_start*", "timing", EXACT, TIMING_BAND, "cold start"),
    Rule("leaderboard:*compliance*", "timing", EXACT, TIMING_BAND,
         "TEST01/TEST04 (latency.json): verdicts must match, the TEST04 ratio is a ratio of timings"),
    Rule("leaderboard:*schedule_lag*", "timing", EXACT, Skip("client diagnostic"),
         "the load client's own lag: a health check of the client, not a claim"),
    Rule("leaderboard:*client_bound*", "timing", EXACT, Skip("verdict on re-measured timings"),
         "whether the load client lagged: a health flag of this run's client, not a claim"),
    Rule("leaderboard:*_rps", "timing", EXACT, TIMING_BAND, "rates (goodput, max rate meeting the SLO)"),
    Rule("leaderboard:*_s", "timing", EXACT, TIMING_BAND, "any other time in seconds"),
    Rule("leaderboard:*goodput*", "timing", EXACT, TIMING_BAND, "goodput: a fraction of measured latencies"),
    Rule("leaderboard:*meets_slo*", "timing", EXACT, Skip("verdict on re-measured timings"),
         "a yes/no drawn from re-measured latencies; the percentile it tests carries the band"),
    Rule("leaderboard:*claimable*", "timing", EXACT, Skip("verdict on re-measured timings"),
         "whether enough requests met the SLO to claim the percentile: follows the re-measured misses"),
    Rule("leaderboard:*min_requests*", "timing", EXACT, Skip("follows the re-measured misses"),
         "MLPerf early-stopping request count, which depends on how many requests missed"),
    Rule("leaderboard:*censored*", "timing", EXACT, Skip("follows the re-measured rates"),
         "whether the rate search hit its bound: follows the measured service rate"),
    Rule("leaderboard:*", "platform", EXACT, QUALITY_BAND, "composite and its parts follow quality"),
)
FALLBACK = Rule("*", "platform", EXACT, QUALITY_BAND, "anything not listed above")


def _as_media(kind: str, files: tuple[str, ...]) -> tuple[Rule, ...]:
    """The image rules for `kind:` (latency, leaderboard), for every media family's files of that kind.
    A key anchored at the top (`config*`) may sit under the model there (`video.latency:<model>.config`)."""
    def key(rest: str) -> str:
        return rest if rest.startswith("*") else "*" + rest

    own = [r for r in IMAGE_RULES if r.pattern.startswith(kind + ":")]
    return tuple(replace(r, pattern=f"*.{f}:" + key(r.pattern[len(kind) + 1:])) for f in files for r in own)


MEDIA_RULES: tuple[Rule, ...] = (
    _always("*.clips:*", "the published clip strips' bytes (sha256)"),
    _always("*.results:*", "the published try-on results' bytes (sha256)"),
    Rule("*.records:*sha256", "platform", EXACT, Skip("pixels may differ across hardware"),
         "regenerated PNG bytes (`sha256`) and decoded frames (`frames_sha256`); on other hardware their "
         "quality metrics carry the band"),
    _always("*.records:*", "job identity: prompt, seed, size, frames, fps, protocol, status"),
    _skip("*.scores:*environment*", "library versions: fingerprint fields `libraries.*`"),
    _always("*.scores:*convention*", "the convention is part of the number"),
    Rule("*.scores:*fvd*", "platform", EXACT, Band(rel=0.02), "FVD, like FID"),
    Rule("*.scores:*", "platform", EXACT, Band(rel=0.02, abs=1e-3),
         "any other media quality number (text alignment, flicker, smoothness, SSIM, LPIPS, garment "
         "fidelity, preservation): ±2 % + 0.001 for scores near 0"),
    *_as_media("latency", ("latency",)),
    *_as_media("leaderboard", ("leaderboard", "metrics")),
)
TOLERANCES: tuple[Rule, ...] = (*IMAGE_RULES, *MEDIA_RULES, FALLBACK)


@dataclass(frozen=True)
class Context:
    """What the verifier knows about this run: same platform as the release? timings re-measured?"""
    same_platform: bool
    remeasured: bool


def rule_for(address: str) -> Rule:
    return next(r for r in TOLERANCES if fnmatchcase(address, r.pattern))


def tolerance_for(address: str, ctx: Context) -> Tolerance:
    rule = rule_for(address)
    if rule.depends_on == "platform":
        return rule.deterministic if ctx.same_platform else rule.otherwise
    if rule.depends_on == "timing":
        return rule.otherwise if ctx.remeasured else rule.deterministic
    return rule.deterministic


def markdown_table() -> str:
    rows = ["| number (`file:key`) | depends on | deterministic case | otherwise | why |",
            "|---|---|---|---|---|"]
    for r in TOLERANCES:
        rows.append(f"| `{r.pattern}` | {r.depends_on} | {r.deterministic.describe()} | "
                    f"{r.otherwise.describe()} | {r.why} |")
    return "\n".join(rows) + "\n"

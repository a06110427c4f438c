"""The verification report in GitHub Markdown, ready to paste into an issue.

Its `### ` headings are the labels of `.github/ISSUE_TEMPLATE/discrepancy.yml`, in the same order
(an issue form renders each field as `### <label>`), so a pasted report and a filled form read alike;
a test keeps SECTIONS and the template identical.
"""
from __future__ import annotations

from typing import Any

# (issue-form field id, label), in template order.
SECTIONS = (
    ("release", "Release"),
    ("verdict", "Verdict"),
    ("first_field", "First differing fingerprint field"),
    ("command", "Command"),
    ("numbers", "Numbers outside tolerance"),
    ("fingerprint", "Fingerprint differences"),
    ("environment", "Environment"),
    ("expected", "What you expected"),
    ("context", "Additional context"),
)
MAX_ROWS = 40
NO_CAUSE = ("No fingerprint field differs. The computation is then not deterministic on this platform, or "
            "the fingerprint misses a cause: either way it is a bug in itself.")


def cell(value: Any, limit: int = 80) -> str:
    """One table cell: code-formatted, `|` escaped, long values shortened, None as a dash."""
    if value is None:
        return "–"
    text = repr(value) if isinstance(value, float) else str(value)
    text = text.replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("|", "\\|").replace("`", "'")
    return f"`{text}`"


def table(header: list[str], rows: list[list[str]], total: int | None = None) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows[:MAX_ROWS]]
    total = len(rows) if total is None else total
    if total > MAX_ROWS:
        lines.append(f"\n…and {total - MAX_ROWS} more (all of them: `verification.json`).")
    return "\n".join(lines)


def _verdict(o) -> str:
    if o.passed:
        return (f"**PASS**: every number re-derived by `--{o.mode}` is within its declared tolerance "
                f"({len(o.checks)} checked) and no strict fingerprint field differs.")
    parts = []
    if o.stage_error:
        parts.append(f"a stage failed ({o.stage_error})")
    if o.failed_checks:
        parts.append(f"{len(o.failed_checks)} of {len(o.checks)} numbers outside tolerance")
    if o.strict_differences:
        parts.append(f"{len(o.strict_differences)} strict fingerprint field(s) differ")
    return "**FAIL**: " + "; ".join(parts) + "."


def _first(o) -> str:
    edited = [c.address.split(":", 1)[1] for c in o.failed_checks if c.address.startswith("manifest:")]
    if edited:
        return (f"Release file(s) edited after cut: {', '.join(f'`{e}`' for e in edited)} no longer match the "
                "sha256 recorded in `manifest.json`, so the published numbers in them are not the ones cut.")
    d = o.first_difference
    if d is not None and d.cls == "info" and o.failed_checks:
        n_code = sum(x.cls == "info" for x in o.differences)
        return (f"No input, convention, library or platform field differs; only code/commit fields do "
                f"({n_code}, first `{d.field}`). The first number outside tolerance is "
                f"`{o.failed_checks[0].address}`: if the code change explains it, say which.")
    if d is None:
        return NO_CAUSE if not o.passed else "None: the fingerprints match."
    return (f"`{d.field}` ({d.cls}): published {cell(d.published)}, yours {cell(d.current)}. "
            "Inputs (images, weights, data, workload, params, convention, libraries) are named before "
            "the platform (hardware) and before code-only fields, so the first one named is the most "
            "likely cause.")


def _numbers(o) -> str:
    failed = o.failed_checks
    if not failed:
        return "None."
    rows = [[cell(c.address), cell(c.published), cell(c.current), c.tolerance, c.status] for c in failed]
    return table(["number", "published", "yours", "tolerance", "status"], rows)


def _fingerprint(o) -> str:
    if not o.differences:
        return "None."
    rows = [[cell(d.field), d.cls, cell(d.published), cell(d.current)] for d in o.differences]
    return table(["field", "class", "published", "yours"], rows)


def _environment(o) -> str:
    rows = []
    for group in ("hardware", "libraries"):
        pub, cur = o.published_env.get(group, {}), o.current_env.get(group, {})
        for key in sorted({*pub, *cur}):
            mark = "" if pub.get(key) == cur.get(key) else " **≠**"
            rows.append([cell(f"{group}.{key}"), cell(pub.get(key)), cell(cur.get(key)) + mark])
    same = "the same platform" if o.same_platform else "other hardware"
    return (f"Verified on {same}: quality numbers were held to the "
            f"{'bit-exact' if o.same_platform else 'other-hardware'} tolerances.\n\n"
            + table(["field", "published", "yours"], rows, total=len(rows)))


def _default_command(o) -> str:
    return f"python -m sentinel.release verify releases/{o.release} --{o.mode}"


def render(o) -> str:
    body = {
        "release": f"`{o.release}`",
        "verdict": _verdict(o),
        "first_field": _first(o),
        "command": f"```shell\n{o.command or _default_command(o)}\n```",
        "numbers": _numbers(o),
        "fingerprint": _fingerprint(o),
        "environment": _environment(o),
        "expected": ("Every number within the tolerance declared in `releases/README.md` (Tolerances) "
                     "and `src/sentinel/release/tolerances.py`."),
        "context": "\n".join(f"- {n}" for n in o.notes) or "_None._",
    }
    intro = ("<!-- Sentinel verification report. To report a discrepancy, open an issue with the "
             "'Discrepancy in a published number' template, or paste this whole text into a new issue. -->")
    return intro + "\n\n" + "\n\n".join(f"### {label}\n\n{body[key]}" for key, label in SECTIONS) + "\n"

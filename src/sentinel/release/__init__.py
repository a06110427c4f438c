"""Quarterly releases: cut one (freeze results + fingerprints), verify one (re-derive every number and
compare it with its declared tolerance), and dispute one (a discrepancy report for a GitHub issue).

    python -m sentinel.release cut 2026-Q4
    python -m sentinel.release verify releases/2026-Q4 [--rescore | --regenerate]
    python -m sentinel.release log releases/2026-Q4     # an MLflow run, beside contributors' runs
    python -m sentinel.release history

Modules: layout (what a release holds), fingerprint (fields and their order), tolerances (the one
table), compare (number by number), rerun (stages in a scratch folder), media (the video and try-on
families: what a release freezes of them and how verify re-runs them), cut, verify, discrepancy
(GitHub Markdown), mlflow_log (a release as an MLflow run), history (HISTORY.md and CHANGELOG.md).
"""

"""Command line: `sentinel release {cut,verify,log,history}`; see the package docstring."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from sentinel.release.layout import ReleaseError

EXIT_MISMATCH, EXIT_ERROR = 1, 2


def parser(prog: str = "sentinel release") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("--root", type=Path, default=Path("."), help="the repository root (default: .)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cut", help="freeze the workspace's results into releases/<id>/")
    c.add_argument("release_id", help="YYYY-Qn or YYYY-Qn-<tag>, e.g. 2026-Q4 or 2026-Q4-smoke")
    c.add_argument("--note", help="a sentence for the changelog entry")
    c.add_argument("--no-push", action="store_true", help="do not push the images to the default DVC remote")
    v = sub.add_parser("verify", help="re-derive a release's numbers and compare them with its tolerances")
    v.add_argument("release_dir", type=Path)
    mode = v.add_mutually_exclusive_group()
    mode.add_argument("--rescore", dest="mode", action="store_const", const="rescore",
                      help="re-score the published images (default)")
    mode.add_argument("--regenerate", dest="mode", action="store_const", const="regenerate",
                      help="regenerate the images, then re-score and re-measure everything")
    v.add_argument("--images", default="dvc",
                   help="with --rescore: dvc (fetch the published images, default), workspace, or a folder")
    v.add_argument("--out", type=Path, help="where reports go (default .cache/sentinel-verify/<release>/)")
    v.add_argument("--keep-going", action="store_true",
                   help="re-run the stages even when an input (images, weights, data, params, libraries) differs")
    v.add_argument("--lenient-libraries", action="store_true",
                   help="treat library-version differences as platform differences (band tolerances) "
                        "instead of failures")
    lg = sub.add_parser("log", help="log a release as an MLflow run, beside contributors' runs")
    lg.add_argument("release_dir", type=Path)
    sub.add_parser("history", help="regenerate releases/HISTORY.md")
    return p


def _verify(args, argv: list[str]) -> int:
    from sentinel.release.verify import verify

    command = "sentinel release " + " ".join(shlex.quote(a) for a in argv)
    outcome = verify(args.root, args.release_dir, args.mode or "rescore", args.images, args.out,
                     args.lenient_libraries, command=command,
                     keep_going=args.keep_going)
    work = (args.out or args.root / ".cache" / "sentinel-verify" / outcome.release).resolve()
    if outcome.passed:
        print(f"verify {outcome.release}: PASS ({len(outcome.checks)} numbers within tolerance; "
              f"{'same platform' if outcome.same_platform else 'other hardware'}). Report: {work / 'verification.md'}")
        return 0
    first = outcome.first_difference
    print(f"verify {outcome.release}: FAIL: {len(outcome.failed_checks)} numbers outside tolerance, "
          f"{len(outcome.strict_differences)} strict fingerprint differences"
          + (f"; stage error: {outcome.stage_error}" if outcome.stage_error else ""), file=sys.stderr)
    print("first differing fingerprint field: " + (f"{first.field} (published {first.published!r}, "
          f"yours {first.current!r})" if first else "none (nondeterminism or a fingerprint gap: a bug)"),
          file=sys.stderr)
    print(f"discrepancy report (GitHub Markdown): {work / 'discrepancy.md'}", file=sys.stderr)
    return EXIT_MISMATCH


def main(argv: list[str] | None = None, prog: str = "sentinel release") -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(prog).parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if args.command == "cut":
            from sentinel.release.cut import cut

            target = cut(args.root, args.release_id, note=args.note, push=not args.no_push)
            print(f"cut {target.name}: {target}\nnext: git add releases dvc-store && "
                  f"git commit -m 'Release {target.name}'")
            return 0
        if args.command == "verify":
            return _verify(args, argv)
        if args.command == "log":
            from sentinel.release.mlflow_log import log_release

            print(f"logged {args.release_dir}: MLflow run {log_release(args.release_dir)}")
            return 0
        from sentinel.release.history import write_history

        print(write_history(args.root.resolve()))
        return 0
    except ReleaseError as e:
        print(f"sentinel release: error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("release", main))

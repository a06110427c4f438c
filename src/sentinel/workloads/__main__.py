"""`sentinel workload generate|check|card`: the workload CSVs and the generated tables of their data card.

    sentinel workload generate --profile 2026-q4     # -> workloads/2026-q4.csv + .meta.json
    sentinel workload generate --profile smoke       # -> workloads/smoke.csv (12 jobs, 64 px)
    sentinel workload check                          # committed files == a fresh generation?
    sentinel workload card                           # refresh the tables in workloads/DATACARD.md
    sentinel workload init my-data --name interiors  # your own folder of prompts + photos (workloads/init.py)

It lives here, beside generator.py and card.py, because it drives both (card.py imports the generator).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sentinel.workloads import card, spec
from sentinel.workloads import generator as gen

log = logging.getLogger("sentinel.workloads")


def parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write workloads/<profile>.csv and .meta.json")
    g.add_argument("--profile", required=True, choices=sorted(spec.PROFILES))
    g.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    g.add_argument("--out", type=Path, default=None, help="default: workloads/<profile>.csv")
    sub.add_parser("check", help="exit 1 if a committed workload differs from a fresh generation")
    c = sub.add_parser("card", help="refresh the generated tables of workloads/DATACARD.md")
    c.add_argument("--card", type=Path, default=gen.ROOT / "workloads" / "DATACARD.md")
    from sentinel.workloads import init

    init.add_parser(sub)
    return p


def main(argv: list[str] | None = None, prog: str = "sentinel workload") -> int:
    args = parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "generate":
        out = args.out or gen.ROOT / "workloads" / f"{args.profile}.csv"
        meta = gen.write(args.profile, out, args.seed)
        log.info("wrote %s: %d jobs, seed %d, v%s, sha256 %s", out, meta["n_jobs"], meta["seed"], meta["version"],
                 meta["csv_sha256"][:12])
        return 0
    if args.cmd == "init":
        from sentinel.workloads import init

        out = init.run(args)
        print("\n".join(f"wrote {p}" for p in out.values()))
        print(f"next: sentinel plan workload={out['conf'].stem}   (then: dvc exp run -S workload={out['conf'].stem})")
        return 0
    if args.cmd == "card":
        log.info("refreshed %s", card.refresh_card(args.card))
        return 0
    stale = gen.check()
    print("all workloads match their generator" if not stale else f"stale: {', '.join(stale)}")
    return 1 if stale else 0


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("workload", main))

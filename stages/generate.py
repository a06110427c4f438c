"""DVC stage `generate@<model>`: recipe -> outputs/generate/{images/<model>/, records/<model>.jsonl, timings/<model>.jsonl}."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("generate", model=sys.argv[1] if len(sys.argv) > 1 else None)

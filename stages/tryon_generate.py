"""DVC stage `tryon_generate@<model>`: one try-on model's results -> tryon.paths.{results/<model>/, records/<model>.jsonl, timings/<model>.jsonl}."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("tryon-generate", model=sys.argv[1] if len(sys.argv) > 1 else None)

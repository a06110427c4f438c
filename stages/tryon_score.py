"""DVC stage `tryon_score@<model>`: one try-on model, paired and unpaired protocols -> tryon.paths.scores/<model>.json."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("tryon-score", model=sys.argv[1] if len(sys.argv) > 1 else None)

"""DVC stage `score@<model>`: one model's images -> outputs/score/models/<model>.json (FID, KID, CLIP, CMMD)."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("score", model=sys.argv[1] if len(sys.argv) > 1 else None)

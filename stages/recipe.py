"""DVC stage `recipe@<model>`: params.yaml model.<model> -> outputs/generate/recipes/<model>.json (the image key)."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("recipe", model=sys.argv[1] if len(sys.argv) > 1 else None)

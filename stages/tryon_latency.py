"""DVC stage `tryon_latency@<model>`: one try-on model through Ray Serve -> tryon.paths.latency/<model>/{latency.json, requests.jsonl}."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("tryon-latency", model=sys.argv[1] if len(sys.argv) > 1 else None)

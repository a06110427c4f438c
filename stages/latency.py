"""DVC stage `latency@<model>`: one model served over HTTP -> outputs/latency/models/<model>/."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("latency", model=sys.argv[1] if len(sys.argv) > 1 else None)

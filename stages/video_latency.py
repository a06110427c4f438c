"""DVC stage `video_latency@<model>`: one video model through Ray Serve -> video.paths.latency/<model>/{latency.json, requests.jsonl}."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("video-latency", model=sys.argv[1] if len(sys.argv) > 1 else None)

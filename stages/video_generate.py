"""DVC stage `video_generate@<model>`: one video model's clips -> video.paths.{clips/<model>/, records/<model>.jsonl, timings/<model>.jsonl}."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("video-generate", model=sys.argv[1] if len(sys.argv) > 1 else None)

"""DVC stage `video_score@<model>`: one video model's clips vs the reference clips -> video.paths.scores/<model>.json."""
import sys

from sentinel.cli import stage

if __name__ == "__main__":
    stage("video-score", model=sys.argv[1] if len(sys.argv) > 1 else None)

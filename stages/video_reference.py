"""DVC stage `video_reference`: reference clips made from the pinned photos -> video.paths.reference/<category>/."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("video-reference")

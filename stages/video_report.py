"""DVC stage `video_report`: every video model: cost per video and per second, leaderboard, metrics, report -> reports/video/."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("video-report")

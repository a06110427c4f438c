"""DVC stage `tryon_report`: every try-on model: cost per try-on, leaderboard, metrics, triptych report -> reports/tryon/."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("tryon-report")

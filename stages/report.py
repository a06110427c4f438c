"""DVC stage `report` (every model): -> reports/{metrics.json, leaderboard.json, report.md, report.html, plots/}."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("report")

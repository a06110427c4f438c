"""DVC stage `gather` (every model): per-model outputs -> the all-model records, timings, ratings, quality and latency files."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("gather")

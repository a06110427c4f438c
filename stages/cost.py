"""DVC stage `cost` (every model): timings -> outputs/cost/cost.json; see dvc.yaml for what it reads and writes."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("cost")

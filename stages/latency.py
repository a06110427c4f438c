"""DVC stage `latency`: see dvc.yaml for what it reads and writes."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("latency")

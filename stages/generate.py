"""DVC stage `generate`: params.yaml -> outputs/generate/{images/, records.jsonl, timings.jsonl}."""
from sentinel.cli import stage

if __name__ == "__main__":
    stage("generate")

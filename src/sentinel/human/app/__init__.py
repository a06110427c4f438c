"""The blind rating web app: `python -m sentinel.human.app --help`."""
from sentinel.human.app.server import create_app

__all__ = ["create_app"]

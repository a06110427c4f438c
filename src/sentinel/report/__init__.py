"""Report: the stage, leaderboard, composite and uncertainty, breakdowns, Markdown/HTML, plots.

Nothing heavy is imported here: import the submodule you need."""

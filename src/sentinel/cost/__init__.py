"""Cost: the one pricing function (stage) and the suite planner built on it.

Nothing heavy is imported here: import the submodule you need."""

"""Workloads: the job set (jobs), its spec and generator, data card, arrivals, references, photos.

Nothing heavy is imported here: import the submodule you need."""

"""Sentinel: reproducible benchmark for image-generation models."""

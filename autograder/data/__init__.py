"""Datasets from one registry: where they live, and fetching them verified."""

"""Checks: one module per assignment, all registered in `registry`."""
from autograder.checks.registry import ASSIGNMENTS, Check, check_by_id, checks_for

__all__ = ["ASSIGNMENTS", "Check", "check_by_id", "checks_for"]

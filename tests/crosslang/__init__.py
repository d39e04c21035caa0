"""Helpers for the cross-language snapshot tests (Python driver, Node runner, scenarios)."""

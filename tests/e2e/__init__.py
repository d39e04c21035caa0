"""Helpers for the approval-inbox tests: a real uvicorn server in a thread, headless Chromium."""

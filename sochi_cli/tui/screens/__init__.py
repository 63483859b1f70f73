"""Screens of the TUI, one per module; each asks services for data in a worker and renders it."""

"""Widgets of the TUI, one per module, each named after what it shows."""

"""Textual front-end (sochi tui): screens and widgets over the same services as the CLI."""

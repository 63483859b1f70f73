"""Use cases shared by the CLI and the TUI; nothing here prints or prompts."""

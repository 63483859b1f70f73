"""Typer front-end: one module per noun, each exposing `register(app)`. Thin by rule."""

# (module, what it adds) in help order. A module's import must stay light: heavy imports
# belong inside the command functions.
COMMAND_MODULES: tuple[str, ...] = ("config_cmd",)

"""`sochi config list|get|set|unset|path|profiles` — the TOML config and its profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sochi_cli.commands._context import app_context

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.store.config import Config

config_app = typer.Typer(
    help="Show and change configuration and profiles.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi config list\n\n"
    "  sochi --profile production config set timeout 60\n\n"
    "  sochi config get profiles.sandbox.api_url\n\n"
    "  sochi config unset timeout\n\n"
    "  sochi config path\n\n"
    "  sochi config profiles",
)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("path")
def config_path(ctx: typer.Context) -> None:
    """Print where the config file lives (it need not exist yet)."""
    from sochi_cli.store import paths

    app = app_context(ctx)
    path = paths.config_file()
    app.out.result({"path": str(path), "exists": path.exists()}, lambda: app.out.line(str(path)))


@config_app.command("list")
def config_list(ctx: typer.Context) -> None:
    """Effective settings of the active profile and where each comes from."""
    app = app_context(ctx)
    config = _config_to_show(app)
    values = config.effective()
    data = {
        "profile": config.profile,
        "path": str(config.path),
        "settings": [{"key": v.key, "value": v.value, "source": v.source} for v in values],
    }

    def render() -> None:
        app.out.info(f"profile: {config.profile}  ({config.path})")
        app.out.table([(v.key, v.value, v.source) for v in values], ["KEY", "VALUE", "SOURCE"])

    app.out.result(data, render)


@config_app.command("get")
def config_get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="KEY, profiles.NAME.KEY or default_profile.")],
) -> None:
    """Print one setting's effective value."""
    from sochi_cli.store import config as config_store

    app = app_context(ctx)
    value = config_store.get_value(_config_to_show(app), key)
    app.out.result(
        {"key": key, "value": value.value, "source": value.source},
        lambda: app.out.line("" if value.value is None else str(value.value)),
    )


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="KEY (in the active profile) or profiles.NAME.KEY.")],
    value: Annotated[str, typer.Argument(help="New value.")],
) -> None:
    """Set a value in the config file (comments and layout are kept)."""
    from sochi_cli.store import config as config_store

    app = app_context(ctx)
    config = _config_for_write(app)
    config_store.set_value(config, key, value)
    app.out.result(
        {"key": key, "value": config_store.get_value(config, key).value, "path": str(config.path)},
        lambda: app.out.info(f"set {key} in {config.path}"),
    )


@config_app.command("unset")
def config_unset(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="KEY or profiles.NAME.KEY.")],
) -> None:
    """Remove a value from the config file (the built-in default applies again)."""
    from sochi_cli.store import config as config_store

    app = app_context(ctx)
    config = _config_for_write(app)
    config_store.set_value(config, key, None)
    app.out.result(
        {"key": key, "path": str(config.path)},
        lambda: app.out.info(f"unset {key} in {config.path}"),
    )


@config_app.command("profiles")
def config_profiles(ctx: typer.Context) -> None:
    """List profiles (built-in and from the file) and mark the active one."""
    from sochi_cli.store.config import BUILTIN_PROFILES

    app = app_context(ctx)
    config = _config_to_show(app)
    rows = [
        {
            "name": name,
            "active": name == config.profile,
            "builtin": name in BUILTIN_PROFILES,
            "api_url": config.resolve("api_url", name).value,
        }
        for name in config.profiles
    ]
    app.out.result(
        rows,
        lambda: app.out.table(
            [
                (
                    "*" if r["active"] else "",
                    r["name"],
                    r["api_url"],
                    "builtin" if r["builtin"] else "file",
                )
                for r in rows
            ],
            ["", "PROFILE", "API URL", "FROM"],
        ),
    )


def _config_to_show(app: AppContext) -> Config:
    """The config for list/get/profiles: a `default_profile` naming no profile is a warning
    here (these commands are how it gets found and fixed), an error everywhere else."""
    from sochi_cli.store import config as config_store

    return _warned(app, config_store.load(app.profile_override, inspect=True))


def _config_for_write(app: AppContext) -> Config:
    """Load for writing: `--profile NEW config set ...` creates the profile NEW, and a bad
    value or default profile in the file is a warning, so the command that fixes it runs."""
    from sochi_cli.store import config as config_store

    return _warned(
        app, config_store.load(app.profile_override, allow_new_profile=True, repair=True)
    )


def _warned(app: AppContext, config: Config) -> Config:
    for warning in config.warnings:
        app.out.warn(warning)
    return config

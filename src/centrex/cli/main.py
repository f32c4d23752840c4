"""Entry point of the ``centrex`` command."""

from __future__ import annotations

import typer

from centrex.cli.serve import db_app, serve

app = typer.Typer(
    name="centrex",
    help="Centrex: hosted PBX platform. `centrex serve` runs it; the other commands manage it over its API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve)
app.add_typer(db_app, name="db")


def _register_commands() -> None:
    """The API commands (over ``centrex.client``): ``centrex.cli.commands`` and every ``commands_*`` module."""
    import importlib
    import pkgutil

    import centrex.cli

    names = [
        "commands",
        *sorted(m.name for m in pkgutil.iter_modules(centrex.cli.__path__) if m.name.startswith("commands_")),
    ]
    for name in names:
        importlib.import_module(f"centrex.cli.{name}").register(app)


_register_commands()

if __name__ == "__main__":
    app()

"""The `riskassess demo` command (demo mode on its own database, keys and secret) and
`riskassess vignettes` (training vignette files)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from riskassess.cli_support import (
    operator_errors,
    settings_for,
    upgrade,
    with_session,
)
from riskassess.config import Settings
from riskassess.core.crypto import Keyring
from riskassess.instruments.loader import load_directories


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--reset",
    is_flag=True,
    help="First delete the demo database and seed it anew (refuses any database but the demo's).",
)
@click.option("--yes", is_flag=True, help="With --reset: do not ask first.")
def demo(host: str, port: int, reset: bool, yes: bool) -> None:
    """Serve demo mode: fictional data, its own database and keys, created on first start."""
    from riskassess.app import create_app
    from riskassess.training.demo import check_demo_database, reset_demo
    from riskassess.training.seed import DEMO_PASSWORD, DEMO_USERS

    with operator_errors():
        settings = settings_for("demo")
        if reset:
            check_demo_database(settings)
            if not yes:
                click.confirm(
                    "Delete everything done in the demo since it was seeded (course results "
                    "included) and seed it anew?",
                    abort=True,
                )
            moved = reset_demo(settings)
            click.echo("Deleted the demo database.")
            if moved is not None:
                click.echo(f"Moved the old demo audit checkpoints to {moved}.")
        app = create_app(prepare_demo(settings))
    click.echo(f"Demo mode at http://{host}:{port}/  (all data is fictional)")
    click.echo(f"Demo accounts (password {DEMO_PASSWORD}): " + ", ".join(u[0] for u in DEMO_USERS))
    app.run(host=host, port=port, debug=False, use_reloader=False)


def prepare_demo(settings: Settings) -> Settings:
    """The demo's keyring, secret key, schema and fictional data, each made on first start and
    kept after it; returns the settings to serve the demo with."""
    from riskassess.accounts.passwords import Passwords
    from riskassess.config import demo_secret_key
    from riskassess.core.keys import Vault
    from riskassess.training.demo import check_demo_database
    from riskassess.training.seed import is_seeded, seed_demo

    # Before anything is created or migrated: a production database is never touched.
    check_demo_database(settings)
    if not settings.secret_key:
        settings = settings.with_overrides(secret_key=demo_secret_key(settings.instance_path))
    if not settings.keyring_path.exists():
        Keyring.generate().save_new(settings.keyring_path)
        click.echo(f"Created a demo keyring at {settings.keyring_path}")
    upgrade(settings)
    registry = load_directories(settings.instruments_dirs)
    ring = Keyring.load(settings.keyring_path)

    def seed(session: Session) -> bool:
        if is_seeded(session):
            return False
        passwords = Passwords(settings.password_time_cost, settings.password_memory_kib)
        seed_demo(session, Vault(ring), passwords, registry)
        return True

    if with_session(settings, seed):
        click.echo("Seeded fictional demo data.")
    return settings


@click.group()
def vignettes() -> None:
    """Training vignettes (fictional cases with a reference rating)."""


@vignettes.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def vignettes_validate(paths: tuple[Path, ...]) -> None:
    """Check vignette files or folders (default: every configured vignette folder) against
    the installed instruments."""
    from riskassess.training.vignettes import VignetteError, load_vignettes

    with operator_errors():
        settings = settings_for()
        instruments = load_directories(settings.instruments_dirs)
    try:
        checked = len(load_vignettes(paths or settings.vignettes_dirs, instruments).all())
    except VignetteError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(1)
    click.echo(f"{checked} vignette file(s) valid.")

"""The `riskassess reports` commands: follow-up statistics' facts."""

from __future__ import annotations

import click

from riskassess.cli_support import CLI_ACTOR, operator_errors, settings_for, with_session


@click.group()
def reports() -> None:
    """Follow-up statistics."""


@reports.command("rebuild-facts")
def rebuild_facts() -> None:
    """Write the follow-up facts of approved assessments that have none: those approved before
    this version wrote them at approval. Run once after upgrading; running it again writes
    only what is missing. Prints counts only, and is audited."""
    from riskassess.core.crypto import Keyring
    from riskassess.core.keys import Vault
    from riskassess.instruments.loader import load_directories
    from riskassess.reports import services

    with operator_errors():
        settings = settings_for()
        registry = load_directories(settings.instruments_dirs)
        vault = Vault(Keyring.load(settings.keyring_path))
        done = with_session(
            settings,
            lambda session: services.rebuild_facts(
                session,
                vault,
                CLI_ACTOR,
                lambda a: registry.get(a.instrument_id, a.instrument_version),
            ),
        )
    click.echo(f"Wrote {done.written} facts for follow-up statistics.")
    if done.unreadable:
        click.echo(
            f"{done.unreadable} approved assessments could not be read (instrument file missing "
            "or case key destroyed at gallring) and are not counted."
        )

"""The `riskassess instruments` commands: validate instrument files, print their schema."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from riskassess.cli_support import (
    settings_for,
)
from riskassess.instruments.loader import (
    InstrumentError,
    is_overlay_file,
    load_directories,
    parse_instrument,
    parse_overlay,
)


@click.group()
def instruments() -> None:
    """Instrument definition files."""


@instruments.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def instruments_validate(files: tuple[Path, ...]) -> None:
    """Check instrument files (default: every configured folder)."""
    problems: list[str] = []
    checked = 0
    if files:
        for path in files:
            try:
                if is_overlay_file(path):
                    parse_overlay(path)
                else:
                    parse_instrument(path)
                checked += 1
            except InstrumentError as exc:
                problems.extend(exc.problems)
    else:
        try:
            checked = len(load_directories(settings_for().instruments_dirs).all())
        except InstrumentError as exc:
            problems.extend(exc.problems)
    for line in problems:
        click.echo(line, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{checked} file(s) valid.")


@instruments.command("schema")
def instruments_schema() -> None:
    """Print the JSON Schema of instrument files (for editors; files are TOML)."""
    import json

    from riskassess.instruments.schema import INSTRUMENT_SCHEMA

    click.echo(json.dumps(INSTRUMENT_SCHEMA, indent=2, ensure_ascii=False))

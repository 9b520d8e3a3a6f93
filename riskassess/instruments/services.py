"""Recording the instrument versions that assessments use, and finding them again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskassess.errors import DomainError
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentError, InstrumentRegistry, parse_definition
from riskassess.instruments.models import InstrumentVersion


def record_version(
    session: Session, instrument: Instrument, *, first_try: bool = True
) -> InstrumentVersion:
    """Store the definition the first time a version is used; refuse a changed file that
    kept its version number, since assessments must always show what they were made with.

    Two requests (on PostgreSQL, where they run side by side) can both find the version
    unrecorded; the later insert then waits for the first and violates its key. Its savepoint
    is rolled back and the row the first stored is used, or refused as above. One lookup by
    instrument and version finds the stored row or a clash, so a row the other request commits
    in between is never taken for a clash."""
    stored = session.scalar(
        select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == instrument.id,
            InstrumentVersion.version == instrument.version,
        )
    )
    if stored is not None and stored.content_hash == instrument.content_hash:
        return stored
    if stored is not None:
        raise DomainError(
            f"{Path(instrument.path).name}: header: {instrument.id} version {instrument.version} "
            "was changed after assessments were made with it; give the changed file a new version"
        )
    stored = InstrumentVersion(
        content_hash=instrument.content_hash,
        instrument_id=instrument.id,
        version=instrument.version,
        file_name=Path(instrument.path).name,
        definition=instrument.definition,
    )
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:
        if not first_try:
            raise
        return record_version(session, instrument, first_try=False)
    return stored


# Parsed stored definitions by content hash. A hash names immutable bytes, so entries never
# go stale; the number of versions an installation ever uses is small.
_STORED: dict[str, Instrument] = {}


def definition_for(
    session: Session,
    registry: InstrumentRegistry,
    instrument_id: str,
    version: str,
    content_hash: str,
) -> Instrument:
    """The exact instrument an assessment was made with: the loaded file if it is unchanged,
    otherwise the definition stored when the version was first used."""
    current = registry.get(instrument_id, version)
    if current is not None and current.content_hash == content_hash:
        return current
    parsed = _STORED.get(content_hash)
    if parsed is None:
        stored = session.get(InstrumentVersion, content_hash)
        if stored is None:
            raise DomainError(
                f"instrument {instrument_id} {version} ({content_hash}) is not stored"
            )
        parsed = parse_definition(stored.definition, stored.file_name)
        _STORED[content_hash] = parsed
    return registry.manual_for(parsed)


def check_recorded_versions(engine: Engine, registry: InstrumentRegistry) -> None:
    """Refuse to start when a file changed but kept a version that assessments already use."""
    with Session(engine) as session:
        recorded = session.execute(
            select(
                InstrumentVersion.instrument_id,
                InstrumentVersion.version,
                InstrumentVersion.content_hash,
            )
        ).all()
    problems = []
    for instrument_id, version, content_hash in recorded:
        loaded = registry.get(instrument_id, version)
        if loaded is not None and loaded.content_hash != content_hash:
            problems.append(
                f"{Path(loaded.path).name}: header: {instrument_id} version {version} was "
                "changed after assessments were made with it; restore the file or give the "
                "change a new version"
            )
    if problems:
        raise InstrumentError(problems)

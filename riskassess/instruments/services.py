"""Recording the instrument versions that assessments use."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.errors import DomainError
from riskassess.instruments.definition import Instrument
from riskassess.instruments.models import InstrumentVersion


def record_version(session: Session, instrument: Instrument) -> InstrumentVersion:
    """Store the definition the first time a version is used; refuse a changed file that
    kept its version number, since assessments must always show what they were made with."""
    stored = session.get(InstrumentVersion, instrument.content_hash)
    if stored is not None:
        return stored
    clash = session.scalar(
        select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == instrument.id,
            InstrumentVersion.version == instrument.version,
        )
    )
    if clash is not None:
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
    session.add(stored)
    session.flush()
    return stored

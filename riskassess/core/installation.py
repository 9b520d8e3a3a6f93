"""Which mode a database belongs to. A demo database can never be served in production, and the
demo can never be pointed at a production database."""

from __future__ import annotations

from sqlalchemy import String, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from riskassess.core.db import Base


class ModeMismatch(Exception):
    pass


class InstallationSetting(Base):
    __tablename__ = "installation_setting"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


def database_mode(session: Session) -> str | None:
    return session.scalar(
        select(InstallationSetting.value).where(InstallationSetting.key == "mode")
    )


def claim_mode(session: Session, mode: str) -> None:
    """Mark a fresh database with the mode, or refuse if it already belongs to the other one."""
    current = database_mode(session)
    if current is None:
        session.add(InstallationSetting(key="mode", value=mode))
        session.flush()
    elif current != mode:
        raise ModeMismatch(
            f"This database belongs to {current} mode and cannot be used in {mode} mode."
        )


def check_mode(engine: Engine, mode: str) -> None:
    """Refuse to serve a database that is not migrated or belongs to the other mode."""
    if not inspect(engine).has_table(InstallationSetting.__tablename__):
        raise ModeMismatch(
            "The database has not been initialised. Run `riskassess db upgrade` first."
        )
    with Session(engine) as session:
        current = database_mode(session)
    if current is not None and current != mode:
        raise ModeMismatch(
            f"This database belongs to {current} mode and cannot be used in {mode} mode."
        )

"""The information text for children and guardians, one row per saved version. It holds no
personal data: it says how the municipality processes it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow


class InformationText(Base):
    """A version of the text, in Swedish and English. Versions are never changed: a save adds
    the next one, so who wrote what, and when, stays readable. The primary key is the version
    number, so two saves at once cannot both become the same version."""

    __tablename__ = "information_text"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    body_sv: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""Imports every model so that the metadata is complete (for Alembic and for tests)."""

from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry
from riskassess.core.db import Base
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import DataKey
from riskassess.instruments.models import InstrumentVersion

__all__ = [
    "Assessment",
    "AuditEntry",
    "Base",
    "Case",
    "DataKey",
    "InstallationSetting",
    "InstrumentVersion",
    "ReviewDecision",
    "Unit",
    "User",
]

"""Imports every model so that the metadata is complete (for Alembic and for tests)."""

from riskassess.accounts.models import LoginSession, RaterTraining, RecoveryCode, Unit, User
from riskassess.assessments.models import Assessment, FollowUp, ReviewDecision
from riskassess.audit_log.models import AuditSample, AuditSampleItem
from riskassess.cases.models import Case, CaseAccess, RetentionHold
from riskassess.core.audit import AuditCaseRef, AuditEntry, AuditPrune
from riskassess.core.db import Base
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import DataKey
from riskassess.instruments.models import InstrumentVersion
from riskassess.reports.models import AssessmentFact
from riskassess.rights.models import InformationText
from riskassess.training.models import CourseParticipant, CourseRating, CourseSession

__all__ = [
    "Assessment",
    "AssessmentFact",
    "AuditCaseRef",
    "AuditEntry",
    "AuditPrune",
    "AuditSample",
    "AuditSampleItem",
    "Base",
    "Case",
    "CaseAccess",
    "CourseParticipant",
    "CourseRating",
    "CourseSession",
    "DataKey",
    "FollowUp",
    "InformationText",
    "InstallationSetting",
    "InstrumentVersion",
    "LoginSession",
    "RaterTraining",
    "RecoveryCode",
    "RetentionHold",
    "ReviewDecision",
    "Unit",
    "User",
]

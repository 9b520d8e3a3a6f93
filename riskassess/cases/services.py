"""Use cases for case files. Services flush, append the audit entry, and never commit."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.cases import policy
from riskassess.cases.identity import format_personnummer
from riskassess.cases.models import Case, CaseStatus
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import Vault
from riskassess.errors import AccessDenied

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Identity:
    name: str
    personnummer: str  # normalized, 12 digits
    birth_date: date
    sex: str

    @property
    def personnummer_display(self) -> str:
        return format_personnummer(self.personnummer)

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "personnummer": self.personnummer,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
        }

    @classmethod
    def from_json(cls, raw: dict[str, str]) -> Identity:
        return cls(
            raw["name"], raw["personnummer"], date.fromisoformat(raw["birth_date"]), raw["sex"]
        )


@dataclass(frozen=True)
class CaseView:
    case: Case
    identity: Identity


def _new_reference() -> str:
    """A pseudonymous case number: says nothing about the child, cannot be enumerated."""
    return "RA-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


def open_identity(session: Session, vault: Vault, case: Case) -> Identity:
    return Identity.from_json(
        vault.open_json(session, case.data_key_id, case.identity, "case_file", "identity", case.id)
    )


def create_case(session: Session, vault: Vault, user: User, identity: Identity) -> Case:
    if not policy.can_create_case(user):
        raise AccessDenied("You may not create cases.")
    assert user.unit_id is not None  # checked by the policy
    key = vault.create_data_key(session)
    case_id = new_id()
    now = utcnow()
    case = Case(
        id=case_id,
        reference=_new_reference(),
        unit_id=user.unit_id,
        data_key_id=key.id,
        created_by_id=user.id,
        status=CaseStatus.OPEN,
        created_dt=now,
        updated_dt=now,
        pnr_index=vault.blind_index(identity.personnummer),
        identity=vault.seal_json(
            session, key.id, identity.to_json(), "case_file", "identity", case_id
        ),
    )
    session.add(case)
    session.flush()
    audit.append(
        session, user.as_actor(), "case:case:create", object_type="case", object_id=case.id
    )
    return case


def deny(session: Session, user: User, action: str, object_type: str, object_id: uuid.UUID) -> None:
    """Record a refused attempt; the caller then answers 403."""
    audit.append(
        session,
        user.as_actor(),
        action,
        object_type=object_type,
        object_id=object_id,
        outcome=audit.Outcome.DENIED,
    )


def read_case(session: Session, vault: Vault, user: User, case: Case) -> CaseView:
    """Decrypt a case for display; the read is audited in the same transaction."""
    if not policy.can_read_case(user, case):
        deny(session, user, "case:case:read", "case", case.id)
        raise AccessDenied("You do not have access to this case.")
    audit.append(session, user.as_actor(), "case:case:read", object_type="case", object_id=case.id)
    return CaseView(case, open_identity(session, vault, case))


def list_unit_cases(session: Session, vault: Vault, user: User) -> list[CaseView]:
    """The open cases of the user's unit, with identity; one audit entry names every row shown."""
    cases = session.scalars(
        select(Case).where(Case.unit_id == user.unit_id).order_by(Case.created_dt.desc())
    ).all()
    views = [CaseView(case, open_identity(session, vault, case)) for case in cases]
    audit.append(
        session,
        user.as_actor(),
        "case:case:list",
        object_type="unit",
        object_id=user.unit_id,
        details={"cases": [str(c.id) for c in cases]},
    )
    return views

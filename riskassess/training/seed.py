"""Fictional units, users, cases and assessments for demo mode. Every person here is invented;
personal identity numbers use serial numbers 98xx with a valid check digit, and birth dates are
relative to today so the children stay in the instruments' age ranges."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum import luhn

from riskassess.accounts import raters
from riskassess.accounts import services as accounts
from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.assessments import services as assessments
from riskassess.assessments.content import OMITTED, Content, ItemRating
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.core.audit import Actor
from riskassess.core.keys import Vault
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry

SEED_ACTOR = Actor.system("demo-seed")

UNITS = {"nord": "Enhet Nord", "syd": "Enhet Syd"}
# Shown on the login page in demo mode only.
DEMO_PASSWORD = "demo-losenord"  # noqa: S105 - demo only, shown on login  # nosec B105
# username, role, unit code, display name
DEMO_USERS = (
    ("handlaggare.a", "caseworker", "nord", "Hanna Handläggare (demo)"),
    ("handlaggare.b", "caseworker", "syd", "Bo Handläggare (demo)"),
    ("arbetsledare.a", "supervisor", "nord", "Ali Arbetsledare (demo)"),
    ("utbildare", "trainer", None, "Ulla Utbildare (demo)"),
    ("admin", "admin", None, "Adam Admin (demo)"),
    ("granskare", "auditor", None, "Greta Granskare (demo)"),
)
# The register of trained raters: username, instrument id, years ago, course. Hanna is trained
# in SAVRY only, so the demo shows both the plain start and the warning (EARL-20B for Leo);
# Bo (Enhet Syd) is registered for nothing yet: the demo's administrator can register him.
TRAININGS = (
    ("handlaggare.a", "savry-style", 2, "SAVRY grundutbildning, 2 dagar (fiktiv)"),
    ("arbetsledare.a", "savry-style", 4, "SAVRY grundutbildning, 2 dagar (fiktiv)"),
    ("arbetsledare.a", "earl-20b-style", 3, "EARL-20B introduktion (fiktiv)"),
)
# name, age in years, sex, unit code, serial (98xx), what to do with a SAVRY-style assessment
CASES = (
    ("Alva Övningsdotter", 15, "female", "nord", "9812", "submitted"),
    ("Kim Fiktivsson", 14, "male", "nord", "9834", "draft"),
    ("Sam Påhittad", 16, "male", "nord", "9856", "approved"),
    ("Nova Exempelsson", 13, "female", "syd", "9871", None),
    ("Leo Låtsasson", 9, "male", "nord", "9889", None),  # for the EARL-20B-style instrument
    ("Mio Skyddadsson", 14, "male", "nord", "9895", "protected"),  # skyddade personuppgifter
)


def fictional_personnummer(born: date, serial: str) -> str:
    body = f"{born:%y%m%d}{serial[:3]}"
    return f"{born:%Y%m%d}-{serial[:3]}{luhn.calc_check_digit(body)}"


def _birth_date(age: int, today: date) -> date:
    return date(today.year - age, 3, 14) if today.month > 3 else date(today.year - age - 1, 3, 14)


def _full_content(instrument: Instrument) -> Content:
    items = {}
    for index, item in enumerate(instrument.items):
        levels = item.scale.levels
        rating = OMITTED if index == 4 else levels[index % len(levels)].code
        items[item.code] = ItemRating(rating, "Fiktiv motivering för övningsfallet.")
    return Content(items, instrument.judgement_levels[1].code, "Fiktiv sammanfattande motivering.")


def is_seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def seed_demo(
    session: Session, vault: Vault, passwords: Passwords, registry: InstrumentRegistry
) -> None:
    """Fill an empty demo database. Goes through the same services as the app, so every
    created row has its audit entry."""
    today = date.today()
    units = {
        code: accounts.create_unit(session, SEED_ACTOR, code, name) for code, name in UNITS.items()
    }
    users: dict[str, User] = {}
    for username, role, unit_code, display_name in DEMO_USERS:
        users[username] = accounts.create_user(
            session,
            passwords,
            SEED_ACTOR,
            username=username,
            display_name=display_name,
            password=DEMO_PASSWORD,
            role=role,
            unit=units[unit_code] if unit_code else None,
        )
    known = {i.id for i in registry.all()}
    for username, instrument_id, years_ago, course in TRAININGS:
        if instrument_id in known:
            raters.record_training(
                session,
                SEED_ACTOR,
                users[username],
                instrument_id,
                date(today.year - years_ago, 9, 1),
                course,
                known,
            )
    instrument = registry.get("savry-style", "1.0")
    if instrument is None:
        raise ValueError("the demo needs the shipped savry-style 1.0 instrument")
    for name, age, sex, unit_code, serial, progress in CASES:
        caseworker = users["handlaggare.a" if unit_code == "nord" else "handlaggare.b"]
        born = _birth_date(age, today)
        normalized, _ = normalize_personnummer(fictional_personnummer(born, serial))
        case = cases.create_case(
            session,
            vault,
            caseworker,
            cases.Identity(name, normalized, born, sex),
            is_protected=progress == "protected",
        )
        if progress in (None, "protected"):
            continue
        assessment = assessments.start_assessment(session, vault, caseworker, case, instrument)
        content = _full_content(instrument)
        if progress == "draft":
            content.items = dict(list(content.items.items())[:10])
            content.judgement_level = None
        assessments.save_assessment(
            session, vault, caseworker, case, assessment, content, assessment.lock_version
        )
        if progress in ("submitted", "approved"):
            assessments.submit_assessment(session, vault, caseworker, case, assessment, instrument)
        if progress == "approved":
            assessments.approve_assessment(
                session,
                vault,
                passwords,
                users["arbetsledare.a"],
                case,
                assessment,
                "Fiktiv kommentar vid godkännande.",
                DEMO_PASSWORD,
            )

"""Fictional units, users, cases and assessments for demo mode. Every person here is invented;
personal identity numbers use serial numbers 98xx and 99xx with a valid check digit, and birth
dates are relative to today so the children stay in the instruments' age ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts import raters
from riskassess.accounts import services as accounts
from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.assessments import services as assessments
from riskassess.assessments.bbic import HeardView, Investigation, RiskSpecification, Source, Voices
from riskassess.assessments.content import OMITTED, Content, ItemRating
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.cases.models import Case
from riskassess.core.audit import Actor
from riskassess.core.keys import Vault
from riskassess.core.localtime import local_today
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.training.fictional import fictional_personnummer
from riskassess.training.followup_sample import seed_followup_sample

__all__ = ["fictional_personnummer", "is_seeded", "seed_demo"]

SEED_ACTOR = Actor.system("demo-seed")

UNITS = {"nord": "Enhet Nord", "syd": "Enhet Syd"}
# Shown on the login page in demo mode only.
DEMO_PASSWORD = "demo-losenord"  # noqa: S105 - demo only, shown on login  # nosec B105
# username, role, unit code, display name
DEMO_USERS = (
    ("handlaggare.a", "caseworker", "nord", "Hanna Handläggare (demo)"),
    ("handlaggare.b", "caseworker", "syd", "Bo Handläggare (demo)"),
    ("handlaggare.c", "caseworker", "nord", "Cissi Handläggare (demo)"),
    ("handlaggare.d", "caseworker", "syd", "Dani Handläggare (demo)"),
    ("arbetsledare.a", "supervisor", "nord", "Ali Arbetsledare (demo)"),
    ("arbetsledare.b", "supervisor", "syd", "Bea Arbetsledare (demo)"),
    ("utbildare", "trainer", None, "Ulla Utbildare (demo)"),
    ("admin", "admin", None, "Adam Admin (demo)"),
    ("granskare", "auditor", None, "Greta Granskare (demo)"),
    ("enhetschef", "manager", None, "Elin Enhetschef (demo)"),
)
# The register of trained raters: username, instrument id, years ago, course. Hanna is trained
# in SAVRY only, so the demo shows both the plain start and the warning (EARL-20B for Leo);
# Cissi is trained in the EARL instruments and has their cases; Bo (Enhet Syd) is registered
# for nothing yet: the demo's administrator can register him. Dani (Enhet Syd) works the
# follow-up sample's SAVRY cases there.
TRAININGS = (
    ("handlaggare.a", "savry-style", 2, "SAVRY grundutbildning, 2 dagar (fiktiv)"),
    ("handlaggare.d", "savry-style", 3, "SAVRY grundutbildning, 2 dagar (fiktiv)"),
    ("handlaggare.c", "earl-20b-style", 1, "EARL-20B introduktion (fiktiv)"),
    ("handlaggare.c", "earl-21g-style", 1, "EARL-21G introduktion (fiktiv)"),
    ("arbetsledare.a", "savry-style", 4, "SAVRY grundutbildning, 2 dagar (fiktiv)"),
    ("arbetsledare.a", "earl-20b-style", 3, "EARL-20B introduktion (fiktiv)"),
)
SAVRY = "savry-style"
EARL_BOYS = "earl-20b-style"
EARL_GIRLS = "earl-21g-style"
# What the seed does with a case's assessment: nothing (None), or leave it in a workflow
# state. "reassessment": approved, then a reassessment started from it and left as a draft.
PROGRESS = ("draft", "submitted", "returned", "approved", "reassessment")


@dataclass(frozen=True)
class DemoCase:
    name: str
    age: int
    sex: str
    unit: str
    serial: str  # 98xx/99xx: never a real person's number
    instrument: str | None = None
    progress: str | None = None
    is_protected: bool = False


# Every instrument has a case in every workflow state, so that a course on any of them can
# start at once; Nova and Leo have none yet (a first assessment to start), Mio has a
# protected identity.
CASES = (
    DemoCase("Alva Övningsdotter", 15, "female", "nord", "9812", SAVRY, "submitted"),
    DemoCase("Kim Fiktivsson", 14, "male", "nord", "9834", SAVRY, "draft"),
    DemoCase("Sam Påhittad", 16, "male", "nord", "9856", SAVRY, "approved"),
    DemoCase("Elin Testdotter", 17, "female", "nord", "9904", SAVRY, "returned"),
    DemoCase("Noah Låtsasberg", 15, "male", "nord", "9913", SAVRY, "reassessment"),
    DemoCase("Nova Exempelsson", 13, "female", "syd", "9871"),
    DemoCase("Leo Låtsasson", 9, "male", "nord", "9889"),  # for the EARL-20B-style instrument
    DemoCase("Mio Skyddadsson", 14, "male", "nord", "9895", is_protected=True),
    DemoCase("Ivar Demosson", 7, "male", "nord", "9921", EARL_BOYS, "draft"),
    DemoCase("Melvin Testberg", 11, "male", "nord", "9933", EARL_BOYS, "submitted"),
    DemoCase("Axel Påhittsson", 8, "male", "nord", "9945", EARL_BOYS, "returned"),
    DemoCase("Love Exempelberg", 10, "male", "nord", "9957", EARL_BOYS, "reassessment"),
    DemoCase("Ella Demodotter", 8, "female", "nord", "9962", EARL_GIRLS, "draft"),
    DemoCase("Lova Övningsberg", 11, "female", "nord", "9974", EARL_GIRLS, "submitted"),
    DemoCase("Stella Fiktivdotter", 9, "female", "nord", "9986", EARL_GIRLS, "returned"),
    DemoCase("Maja Exempeldotter", 12, "female", "nord", "9800", EARL_GIRLS, "reassessment"),
)
# Who works each instrument's cases in Enhet Nord: each is registered as trained in it.
CASEWORKER_FOR = {SAVRY: "handlaggare.a", EARL_BOYS: "handlaggare.c", EARL_GIRLS: "handlaggare.c"}


def _birth_date(age: int, today: date) -> date:
    """A birthday on 14 March that makes the child exactly `age` today."""
    passed = (today.month, today.day) >= (3, 14)
    return date(today.year - age - (0 if passed else 1), 3, 14)


def _full_content(instrument: Instrument, shift: int = 0) -> Content:
    """Every item rated (one omitted) and a judgement with its reason; `shift` varies the
    profile from case to case."""
    items = {}
    for index, item in enumerate(instrument.items):
        levels = item.scale.levels
        rating = OMITTED if index == 4 else levels[(index + shift) % len(levels)].code
        items[item.code] = ItemRating(rating, "Fiktiv motivering för övningsfallet.")
    return Content(items, instrument.judgement_levels[1].code, "Fiktiv sammanfattande motivering.")


def _with_record(content: Content, on: date, phase: str) -> Content:
    """A fictional case record around the ratings: the investigation, its sources and the
    views heard, a week before `on`, and what the judgement speaks of."""
    heard = (on - timedelta(days=7)).isoformat()
    content.investigation = Investigation(
        phase,
        "ÖVNING 2026/0001",
        on.isoformat(),
        [
            Source("child", heard, "Fiktivt samtal på kontoret"),
            Source("guardians", heard, "Fiktivt hembesök"),
            Source("school", heard, "Fiktiv mentor"),
            Source("records", on.isoformat(), "Tidigare fiktiv utredning"),
        ],
    )
    content.voices = Voices(
        HeardView("Fiktiv: barnet säger att det mest är bråk i skolan.", "meeting", heard),
        "Fiktiv: barnets syn har vägts in utifrån ålder och mognad.",
        "",
        [HeardView("Fiktiv: oroar sig för kamraterna.", "home_visit", heard, "Vårdnadshavare 1")],
        "",
    )
    content.risk = RiskSpecification("violence", "", "6")
    return content


def _changed_since(instrument: Instrument, content: Content) -> Content:
    """A reassessment's content: the carried-forward ratings, some dynamic items lower now
    (an intervention has helped), and a judgement and reason of its own."""
    historical = instrument.historical_codes
    for item in instrument.items:
        if item.code not in content.items:  # a historical item the caseworker did not confirm
            content.items[item.code] = ItemRating(
                item.scale.levels[0].code, "Fiktiv motivering för övningsfallet."
            )
    dynamic = [i for i in instrument.risk_items if i.code not in historical]
    for item in dynamic[:3]:
        content.items[item.code] = ItemRating(
            item.scale.levels[0].code, "Fiktiv motivering: lägre sedan insatsen började."
        )
    content.judgement_level = instrument.judgement_levels[1].code
    content.judgement_reason = (
        "Fiktiv motivering: flera faktorer har minskat sedan förra bedömningen, men helheten "
        "är densamma."
    )
    return content


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
    instruments = {}
    for instrument_id in CASEWORKER_FOR:
        instrument = registry.get(instrument_id, "1.0")
        if instrument is None:
            raise ValueError(f"the demo needs the shipped {instrument_id} 1.0 instrument")
        instruments[instrument_id] = instrument
    # The follow-up sample first, so that the training cases, changed later, head the lists.
    seed_followup_sample(session, vault, passwords, users, instruments[SAVRY], DEMO_PASSWORD, today)
    for shift, spec in enumerate(CASES):
        caseworker = users["handlaggare.b" if spec.unit == "syd" else "handlaggare.a"]
        if spec.instrument is not None:
            caseworker = users[CASEWORKER_FOR[spec.instrument]]
        born = _birth_date(spec.age, today)
        normalized, _ = normalize_personnummer(fictional_personnummer(born, spec.serial))
        case = cases.create_case(
            session,
            vault,
            caseworker,
            cases.Identity(spec.name, normalized, born, spec.sex),
            is_protected=spec.is_protected,
        )
        if spec.instrument is not None and spec.progress is not None:
            _assess(
                session,
                vault,
                passwords,
                (caseworker, users["arbetsledare.a"]),
                case,
                instruments[spec.instrument],
                spec.progress,
                shift,
            )


def _assess(
    session: Session,
    vault: Vault,
    passwords: Passwords,
    people: tuple[User, User],
    case: Case,
    instrument: Instrument,
    progress: str,
    shift: int,
) -> None:
    """Take one case's assessment to `progress` through the app's own services."""
    caseworker, supervisor = people
    assessment = assessments.start_assessment(session, vault, caseworker, case, instrument)
    content = _with_record(_full_content(instrument, shift), local_today(), "investigation")
    if progress == "draft":
        content.items = dict(list(content.items.items())[:10])
        content.judgement_level = None
    assessments.save_assessment(
        session, vault, caseworker, case, assessment, content, assessment.lock_version
    )
    if progress == "draft":
        return
    assessments.submit_assessment(session, vault, caseworker, case, assessment, instrument)
    if progress == "returned":
        assessments.return_assessment(
            session,
            vault,
            supervisor,
            case,
            assessment,
            "Fiktiv kommentar: utveckla motiveringen till den sammanfattande bedömningen.",
        )
    if progress not in ("approved", "reassessment"):
        return
    assessments.approve_assessment(
        session,
        vault,
        passwords,
        supervisor,
        case,
        assessment,
        instrument,
        "Fiktiv kommentar vid godkännande.",
        DEMO_PASSWORD,
    )
    if progress == "reassessment":
        again = assessments.start_assessment(
            session,
            vault,
            caseworker,
            case,
            instrument,
            confirmed_historical=sorted(instrument.historical_codes),
        )
        carried = assessments.open_content(session, vault, case, again)
        assessments.save_assessment(
            session,
            vault,
            caseworker,
            case,
            again,
            _with_record(_changed_since(instrument, carried), local_today(), "follow_up"),
            again.lock_version,
        )

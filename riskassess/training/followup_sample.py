"""A fictional follow-up sample for the demo: enough approved SAVRY-style assessments in both
demo units, over the last twelve months, that the follow-up statistics page (/reports) shows
real tables and charts, with some small counts hidden, to a manager or supervisor trying the
demo. Without it the page says only that there are too few assessments.

Every child here is invented, like the rest of the demo (names built from words such as
"Övning", "Fiktiv" and "Påhitt"; personal identity numbers with serial numbers 98x and 99x).
The sample is made through the app's own services: a case is created, an assessment started,
saved, submitted and approved (with the supervisor's signature), as a person would.

Demo only: the approvals happen at seeding time, but a follow-up needs them spread over the
year. `_move_back` is the one place that moves an assessment's, its decisions' and its case's
times back to the sample's dates; then the facts the approvals wrote are written anew through
`rebuild_facts`, so the statistics count the moved dates exactly as an approval on those days
would have. The audit log keeps the true seeding times.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.assessments import services as assessments
from riskassess.assessments.bbic import HeardView, Investigation, RiskSpecification, Source, Voices
from riskassess.assessments.content import OMITTED, Content, ItemRating, applicable_rules
from riskassess.assessments.models import Assessment, AssessmentEditor, ReviewDecision
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.cases.models import Case
from riskassess.core.audit import Actor
from riskassess.core.keys import Vault
from riskassess.core.localtime import LOCAL_TIME
from riskassess.instruments.definition import Instrument
from riskassess.reports import services as reports
from riskassess.reports.facts import forget_facts
from riskassess.reports.models import AssessmentFact
from riskassess.training.fictional import fictional_personnummer

# Who works the sample in each unit: a caseworker trained in SAVRY and the unit's supervisor.
STAFF = {"nord": ("handlaggare.a", "arbetsledare.a"), "syd": ("handlaggare.d", "arbetsledare.b")}
# Children per unit and sex, and how many of each unit's are reassessed: 86 assessments, 54
# of them in Enhet Nord. The smaller Enhet Syd shows some counts under 5.
CHILDREN = {
    ("nord", "female"): 22,
    ("nord", "male"): 24,
    ("syd", "female"): 12,
    ("syd", "male"): 14,
}
REASSESSED = {"nord": 8, "syd": 6}
# Judgements and ages (at the first approval) are dealt in these cycles within each unit and
# sex, so that every unit, sex and age band has enough children to be shown: a quarter are
# 12, about half 13 to 15, the rest 16 or 17.
LEVEL_CYCLE = ("low", "moderate", "high", "low", "moderate", "low", "high", "moderate")
AGE_CYCLE = (12, 14, 16, 13, 15, 17, 12, 15, 16, 14, 13, 12)
# A case whose latest approval is older than this is closed: its investigation has ended.
CLOSED_AFTER_DAYS = 150
GIRLS = ("Alma", "Ebba", "Freja", "Ines", "Juni", "Klara", "Linn", "Molly", "Nellie", "Saga")
BOYS = ("Adam", "Albin", "Casper", "Elton", "Hugo", "Isak", "Loke", "Melker", "Ture", "Viggo")
SURNAMES = ("Övnings", "Fiktiv", "Påhitt", "Låtsas", "Exempel", "Demo", "Prov", "Test")
ENDINGS = {"female": ("dotter", "berg", "lund"), "male": ("son", "ström", "berg")}
LEVELS = ("low", "moderate", "high")
# How the risk items lean, per judgement: chances of Low, Moderate and High.
LEANING = {"low": (0.7, 0.25, 0.05), "moderate": (0.35, 0.45, 0.2), "high": (0.1, 0.35, 0.55)}
PRESENT = {"low": 0.65, "moderate": 0.4, "high": 0.2}


@dataclass(frozen=True)
class Reassessment:
    after_days: int  # from the first approval to the reassessment's
    days_to_approval: int
    level: str


@dataclass(frozen=True)
class SampleChild:
    name: str
    sex: str
    unit: str
    serial: str  # 98x/99x and a check digit: never a real person's number
    age: int  # whole years at the first approval
    birthday_offset: int  # days past that birthday on the day of the first approval
    approved_days_ago: int  # the first approval
    days_to_approval: int  # from the start of the assessment to its approval
    level: str  # the overall judgement
    leaning: str  # how the risk items lean (a judgement unlike it needs a reason)
    is_heard: bool  # the child's own view was obtained
    reassessment: Reassessment | None = None

    def birth_date(self, today: date) -> date:
        approved = today - timedelta(days=self.approved_days_ago)
        born = date(approved.year - self.age, approved.month, min(approved.day, 28))
        return born - timedelta(days=self.birthday_offset)


def sample_children() -> tuple[SampleChild, ...]:
    """The sample, the same on every start: a fixed random generator draws it."""
    rng = random.Random(16)  # noqa: S311 - a fixed fictional sample, not a secret  # nosec B311
    children: list[SampleChild] = []
    names: set[str] = set()
    for (unit, sex), count in CHILDREN.items():
        first_names = GIRLS if sex == "female" else BOYS
        for index in range(count):
            while True:
                name = f"{rng.choice(first_names)} {rng.choice(SURNAMES)}{rng.choice(ENDINGS[sex])}"
                if name not in names:
                    names.add(name)
                    break
            number = len(children)
            # The serial's last digit is odd for a boy, even for a girl, as in a real number.
            digit = 2 * (number % 5) + (1 if sex == "male" else 0)
            level = LEVEL_CYCLE[index % len(LEVEL_CYCLE)]
            # One in eight leans the other way: a judgement that needs its reason.
            leaning = level if rng.random() > 0.125 else rng.choice(LEVELS)
            children.append(
                SampleChild(
                    name=name,
                    sex=sex,
                    unit=unit,
                    serial=f"9{8 + number % 2}{digit}",
                    age=AGE_CYCLE[index % len(AGE_CYCLE)],
                    birthday_offset=rng.randrange(5, 330),
                    approved_days_ago=rng.randrange(3, 358),
                    days_to_approval=rng.choice((3, 6, 9, 12, 16, 21, 25, 34, 45, 70)),
                    level=level,
                    leaning=leaning,
                    is_heard=rng.random() > 0.15,
                )
            )
    # Reassessments: the unit's children first approved long enough ago for one to follow.
    for unit, count in REASSESSED.items():
        mine = [c for c in children if c.unit == unit and c.approved_days_ago >= 200]
        for child in sorted(mine, key=lambda c: -c.approved_days_ago)[:count]:
            after = rng.randrange(120, min(child.approved_days_ago - 5, 250))
            level = LEVELS[max(0, LEVELS.index(child.level) - rng.choice((0, 1)))]
            again = Reassessment(after, rng.choice((5, 8, 13, 20)), level)
            children[children.index(child)] = SampleChild(
                **{**child.__dict__, "reassessment": again}
            )
    return tuple(children)


def _ratings(instrument: Instrument, rng: random.Random, leaning: str) -> dict[str, ItemRating]:
    ratings = {}
    for index, item in enumerate(instrument.items):
        levels = [level.code for level in item.scale.levels]
        if item.scale.kind == "protective":
            code = levels[0] if rng.random() < PRESENT[leaning] else levels[1]
        elif index % 11 == 7 and rng.random() < 0.3:
            code = OMITTED  # not enough information for this item
        else:
            code = rng.choices(levels, weights=LEANING[leaning])[0]
        ratings[item.code] = ItemRating(code, "Fiktiv motivering i uppföljningsexemplet.")
    return ratings


def _judged(instrument: Instrument, content: Content, level: str) -> Content:
    content.judgement_level = level
    content.judgement_reason = "Fiktiv sammanfattande motivering i uppföljningsexemplet."
    content.rule_reasons = {
        rule.id: "Fiktiv förklaring: helheten väger tyngre än de enskilda faktorerna."
        for rule in applicable_rules(instrument, content)
    }
    return content


def _record(content: Content, on: date, phase: str, is_heard: bool) -> Content:
    """The case record around the ratings: the sources, the views heard (or why the child's
    could not be), a week before `on`."""
    heard = (on - timedelta(days=7)).isoformat()
    sources = [Source("guardians", heard, "Fiktivt hembesök"), Source("school", heard, "Fiktiv")]
    if is_heard:
        sources.insert(0, Source("child", heard, "Fiktivt samtal"))
    content.investigation = Investigation(phase, "ÖVNING 2026/0002", on.isoformat(), sources)
    content.voices = Voices(
        HeardView("Fiktiv: barnets egen syn.", "meeting", heard) if is_heard else HeardView(),
        "Fiktiv: vägd utifrån ålder och mognad." if is_heard else "",
        "" if is_heard else "Fiktiv: barnet ville inte delta i samtal.",
        [HeardView("Fiktiv: vårdnadshavarens syn.", "home_visit", heard, "Vårdnadshavare 1")],
        "",
    )
    content.risk = RiskSpecification("violence", "", "6")
    return content


def seed_followup_sample(
    session: Session,
    vault: Vault,
    passwords: Passwords,
    users: dict[str, User],
    instrument: Instrument,
    password: str,
    today: date,
) -> int:
    """Create the sample's cases and approved assessments; returns how many assessments."""
    rng = random.Random(12)  # noqa: S311 - fictional ratings, not a secret  # nosec B311
    moved: list[Assessment] = []
    for child in sample_children():
        caseworker, supervisor = (users[name] for name in STAFF[child.unit])
        born = child.birth_date(today)
        normalized, _ = normalize_personnummer(fictional_personnummer(born, child.serial))
        case = cases.create_case(
            session, vault, caseworker, cases.Identity(child.name, normalized, born, child.sex)
        )
        first_day = today - timedelta(days=child.approved_days_ago)
        content = Content(_ratings(instrument, rng, child.leaning))
        content = _record(
            _judged(instrument, content, child.level), first_day, "investigation", child.is_heard
        )
        first = _approved(
            session, vault, passwords, (caseworker, supervisor), case, instrument, content, password
        )
        _move_back(session, first, first_day, child.days_to_approval)
        moved.append(first)
        last_day = first_day
        if child.reassessment is not None:
            again = child.reassessment
            second = assessments.start_assessment(
                session,
                vault,
                caseworker,
                case,
                instrument,
                confirmed_historical=sorted(instrument.historical_codes),
            )
            last_day = first_day + timedelta(days=again.after_days)
            carried = assessments.open_content(session, vault, case, second)
            for code, rating in _ratings(instrument, rng, again.level).items():
                if code not in instrument.historical_codes:
                    carried.items[code] = rating
            for item in instrument.items:
                carried.items.setdefault(item.code, ItemRating("low", "Fiktiv motivering."))
            content = _record(
                _judged(instrument, carried, again.level), last_day, "follow_up", child.is_heard
            )
            _approved(
                session,
                vault,
                passwords,
                (caseworker, supervisor),
                case,
                instrument,
                content,
                password,
                second,
            )
            _move_back(session, second, last_day, again.days_to_approval)
            moved.append(second)
        if (today - last_day).days > CLOSED_AFTER_DAYS:
            cases.close_case(session, caseworker, case)
            case.closed_dt = _at(last_day + timedelta(days=30))
        case.created_dt = _at(first_day - timedelta(days=child.days_to_approval + 10))
        case.updated_dt = case.closed_dt or _at(last_day)
    # The facts the approvals wrote count the seeding day; write them anew from the moved dates.
    ids = [assessment.id for assessment in moved]
    counted = session.scalars(select(AssessmentFact).where(AssessmentFact.assessment_id.in_(ids)))
    forget_facts(session, vault, counted)
    reports.rebuild_facts(session, vault, Actor.system("demo-seed"), lambda _a: instrument)
    return len(moved)


def _approved(
    session: Session,
    vault: Vault,
    passwords: Passwords,
    people: tuple[User, User],
    case: Case,
    instrument: Instrument,
    content: Content,
    password: str,
    assessment: Assessment | None = None,
) -> Assessment:
    """Start (unless given), save, submit and approve, through the app's services."""
    caseworker, supervisor = people
    if assessment is None:
        assessment = assessments.start_assessment(session, vault, caseworker, case, instrument)
    assessments.save_assessment(
        session, vault, caseworker, case, assessment, content, assessment.lock_version
    )
    assessments.submit_assessment(session, vault, caseworker, case, assessment, instrument)
    assessments.approve_assessment(
        session,
        vault,
        passwords,
        supervisor,
        case,
        assessment,
        instrument,
        "Fiktiv kommentar vid godkännande.",
        password,
    )
    return assessment


def _at(day: date) -> datetime:
    """Mid-morning on `day`, in the municipality's time zone."""
    return datetime.combine(day, time(10), LOCAL_TIME)


def _move_back(session: Session, assessment: Assessment, approved: date, days: int) -> None:
    """Demo only: the approved assessment as if started `days` before `approved` and
    approved that day (see the module's docstring)."""
    started, submitted = _at(approved - timedelta(days=days)), _at(approved - timedelta(days=1))
    assessment.created_dt = started
    assessment.submitted_dt = submitted
    assessment.decided_dt = assessment.updated_dt = _at(approved)
    for editor in session.scalars(
        select(AssessmentEditor).where(AssessmentEditor.assessment_id == assessment.id)
    ):
        editor.first_edit_dt, editor.last_edit_dt = started, submitted
    for decision in session.scalars(
        select(ReviewDecision).where(ReviewDecision.assessment_id == assessment.id)
    ):
        decision.created_dt = _at(approved)
    session.flush()

"""Arranging the day's work through the services: a unit with its staff, and assessments in
each state, approved ones with a plan and an approval date of the test's choosing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.bbic import HeardView, Investigation, RiskSpecification, Source, Voices
from riskassess.assessments.content import Content, ItemRating, PlanEntry
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core.localtime import local_today
from tests.conftest import PASSWORD, World

SAVRY = ("savry-style", "1.0")
# Plan rows: the intervention and its follow-up date.
Plan = Sequence[tuple[str, date | None]]
SAVRY_TITLE_SV = "SAVRY-liknande bedömning av våldsrisk hos ungdomar, version 1.0"


@dataclass(frozen=True)
class Staff:
    owner: User  # cw.north, who opens the cases
    colleague: User  # cw.north2
    supervisor: User  # sup.north
    outsider: User  # cw.south, another unit
    other_supervisor: User  # sup.south


def staff(world: World) -> Staff:
    north, south = world.unit("nord"), world.unit("syd")
    return Staff(
        world.user("cw.north", "caseworker", north),
        world.user("cw.north2", "caseworker", north),
        world.user("sup.north", "supervisor", north),
        world.user("cw.south", "caseworker", south),
        world.user("sup.south", "supervisor", south),
    )


def complete(world: World, plan: Plan = ()) -> Content:
    """Every item rated with a rationale, a judgement, and the given plan rows."""
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    items = {
        item.code: ItemRating(
            "moderate" if item.scale.kind == "risk" else "present", "Fiktiv motivering"
        )
        for item in instrument.items
    }
    rows = [
        PlanEntry(["H1"], text, "Fiktiv ansvarig", day.isoformat() if day else "")
        for text, day in plan
    ]
    return with_record(Content(items, "moderate", "Fiktiv sammanfattning", plan=rows))


def with_record(content: Content, on: date | None = None) -> Content:
    """`content` with a complete case record around its ratings: the link to the
    investigation with two sources, the child's and a guardian's views, and what the
    judgement speaks of."""
    day = (on or date.today()).isoformat()
    return replace(
        content,
        investigation=Investigation(
            "investigation",
            "TEST 2026/0001",
            day,
            [Source("child", day, "Fiktivt samtal"), Source("school", day, "")],
        ),
        voices=Voices(
            HeardView("Fiktiv syn", "meeting", day),
            "",
            "",
            [HeardView("Fiktiv syn", "home_visit", day, "Vårdnadshavare 1")],
        ),
        risk=RiskSpecification("violence", "", "6"),
    )


def draft(world: World, owner: User, case: Case) -> Assessment:
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = assessments.start_assessment(world.session, world.vault, owner, case, instrument)
    world.session.commit()
    return assessment


def submitted(world: World, owner: User, case: Case, plan: Plan = ()) -> Assessment:
    session, vault = world.session, world.vault
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = draft(world, owner, case)
    assessments.save_assessment(
        session, vault, owner, case, assessment, complete(world, plan), assessment.lock_version
    )
    assessments.submit_assessment(session, vault, owner, case, assessment, instrument)
    session.commit()
    return assessment


def approved(
    world: World,
    owner: User,
    supervisor: User,
    case: Case,
    plan: Plan = (),
    on: date | None = None,
) -> Assessment:
    """An approved assessment; `on`: the (local) day of the approval, for due dates."""
    assessment = submitted(world, owner, case, plan)
    assessments.approve_assessment(
        world.session,
        world.vault,
        world.passwords,
        supervisor,
        case,
        assessment,
        world.instrument_of(assessment),
        "",
        PASSWORD,
    )
    world.session.commit()
    if on is not None:
        moment = datetime.combine(on, time(12), UTC)
        world.session.execute(
            update(Assessment).where(Assessment.id == assessment.id).values(decided_dt=moment)
        )
        world.session.commit()
        world.session.refresh(assessment)
    return assessment


def returned(world: World, owner: User, supervisor: User, case: Case, comment: str) -> Assessment:
    assessment = submitted(world, owner, case)
    assessments.return_assessment(world.session, world.vault, supervisor, case, assessment, comment)
    world.session.commit()
    return assessment


def row_of(page: str, reference: str) -> str:
    """The table row of a list page that holds the case number."""
    rows = [row for row in re.split(r"<tr[ >]", page) if reference in row]
    assert len(rows) == 1, f"{reference} is in {len(rows)} rows"
    return rows[0].split("</tr>")[0]


def days(n: int) -> date:
    """n days from today, in the app's time zone."""
    return local_today() + timedelta(days=n)

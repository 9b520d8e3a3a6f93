"""The "samlad bedömning": an assessment as plain text for the investigation, in both
languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import Babel

from riskassess.assessments.bbic import HeardView, Investigation, RiskSpecification, Source, Voices
from riskassess.assessments.case_text import (
    Approval,
    TextBlock,
    as_plain_text,
    case_file_blocks,
    case_file_text,
)
from riskassess.assessments.content import Content, ItemRating, PlanEntry
from riskassess.config import PROJECT_ROOT, SHIPPED_INSTRUMENTS
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import parse_instrument


def _app(language: str) -> Flask:
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PROJECT_ROOT / "riskassess/translations")
    Babel(app, locale_selector=lambda: language)
    return app


@pytest.fixture(scope="module")
def savry() -> Instrument:
    return parse_instrument(SHIPPED_INSTRUMENTS / "savry-style-1.0.toml")


def _content() -> Content:
    content = Content(
        judgement_level="moderate",
        judgement_reason="Fiktivt skäl.\nAndra raden.",
        scenarios="Fiktivt scenario.",
    )
    content.items["H1"] = ItemRating("high", "Fiktiv motivering", is_critical=True)
    content.plan = [
        PlanEntry(["H1", "H2"], "Fiktiv insats", "Fiktiv ansvarig", "2024-06-01"),
        PlanEntry([], "Andra insatsen", "", ""),
    ]
    return content


APPROVED = Approval("Test Arbetsledare", datetime(2024, 5, 14, 10, 30, tzinfo=UTC))


def test_swedish_text_has_every_part_in_order(savry: Instrument) -> None:
    critical = [item for item in savry.items if item.code == "H1"]
    with _app("sv").test_request_context():
        text = case_file_text(savry, _content(), critical, APPROVED, "sv")
    h1 = savry.item("H1")
    moderate = savry.judgement_level("moderate")
    assert h1 is not None and moderate is not None
    expected_order = [
        "Strukturerad bedömning gjord med:",
        f"{savry.title.get('sv')}, version {savry.version}",
        "Overifierad instrumentfil",
        f"{savry.judgement_title.get('sv')}:",
        moderate.label.get("sv"),
        "Skäl för bedömningen:\nFiktivt skäl.\nAndra raden.",
        "Scenarier som inger oro:\nFiktivt scenario.",
        f"- H1 {h1.title.get('sv')}",
        "- Fiktiv insats; avser H1, H2; ansvarig: Fiktiv ansvarig; uppföljning 2024-06-01",
        "- Andra insatsen\n",
        "Godkänd av Test Arbetsledare, 2024-05-14 12:30.",
    ]
    positions = [text.index(part) for part in expected_order]
    assert positions == sorted(positions), text
    assert "<" not in text and "&" not in text  # plain text, nothing escaped or marked up


def test_english_text_and_unapproved_draft(savry: Instrument) -> None:
    verified = replace(savry, unverified=False)
    empty = Content()
    with _app("en").test_request_context():
        text = case_file_text(verified, empty, [], None, "en")
    assert "Structured assessment made with:\n" in text
    assert "Unverified" not in text
    assert f"{savry.judgement_title.get('en')}:\nNot recorded" in text
    assert "Reasons for the judgement:\n–" in text
    assert "Critical items:\nNone marked." in text
    assert "Plan:\n–" in text
    assert "Not approved: this text is not from a signed assessment." in text


def test_a_new_field_is_one_more_block(savry: Instrument) -> None:
    """How the BBIC fields are to be added: a block in its place, the layout unchanged."""
    with _app("sv").test_request_context():
        blocks = case_file_blocks(savry, _content(), [], APPROVED, "sv")
    blocks.insert(1, TextBlock("Fas", "Utredning"))
    text = as_plain_text(blocks)
    assert text.split("\n\n")[1] == "Fas:\nUtredning"
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_plain_text_layout() -> None:
    text = as_plain_text([TextBlock("A", "  ett  \ntvå   \n"), TextBlock("B", "tre")])
    assert text == "A:\nett\ntvå\n\nB:\ntre\n"


def test_the_case_record_is_in_the_text(savry: Instrument) -> None:
    """The link to the investigation, the sources, the views heard and what the judgement
    speaks of, in the investigation's words."""
    content = _content()
    content.investigation = Investigation(
        "investigation", "IFO 2024/77", "2024-05-10", [Source("police", "2024-05-02", "Fiktiv")]
    )
    content.voices = Voices(
        HeardView("Fiktiv: vill spela fotboll igen.", "home_visit", "2024-05-03"),
        "Fiktivt: stor vikt, tolv år.",
        guardians_not_heard="Fiktivt: nåddes inte.",
    )
    content.risk = RiskSpecification("serious_violence", "", "6")
    with _app("sv").test_request_context():
        text = case_file_text(savry, content, [], APPROVED, "sv")
    assert (
        "Utredning (BBIC):\nSkede: Utredning\nDiarienummer: IFO 2024/77\nDatum: 2024-05-10" in text
    )
    assert "- Polis, 2024-05-02: Fiktiv\nBygger enbart på handlingar" in text
    assert "Barnets syn:\n(Hembesök, 2024-05-03) Fiktiv: vill spela fotboll igen." in text
    assert "Hur den har beaktats: Fiktivt: stor vikt, tolv år." in text
    assert "Vårdnadshavarnas syn:\nGick inte att få: Fiktivt: nåddes inte." in text
    assert "Vad bedömningen avser:\nAllvarligt våld inom sex månader" in text

"""The rating page writes its choice inputs with Jinja macros (templates/assessments/
_inputs.html) instead of WTForms' widgets, for speed: the markup must be what the widgets
write, checked and unchecked, for every item of every domain."""

from __future__ import annotations

import re

from flask import Flask, get_template_attribute

from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.forms import domain_form
from tests.conftest import World

INPUT = re.compile(r"<input[^>]*>")


def _inputs(html: str) -> list[str]:
    return INPUT.findall(str(html))


def test_the_macros_write_what_the_widgets_write(app: Flask, world: World) -> None:
    instrument = world.instrument_of_key("savry-style", "1.0")
    # Every other item rated (its first level), with two sources and the critical flag.
    items = {
        item.code: ItemRating(item.scale.levels[0].code, "Fiktiv", True, ["child", "police"])
        for item in instrument.items[::2]
    }
    content = Content(items, "low", "Fiktiv")
    with app.test_request_context():
        rating_choices = get_template_attribute("assessments/_inputs.html", "rating_choices")
        checkbox_list = get_template_attribute("assessments/_inputs.html", "checkbox_list")
        checkbox = get_template_attribute("assessments/_inputs.html", "checkbox")
        compared = 0
        for domain in instrument.domains:
            form = domain_form(instrument, domain, "sv", content, 1)
            for item in domain.items:
                f = form.item_fields(item.code)
                widgets = [
                    option(**({"data-key": f.keys[option.data]} if option.data in f.keys else {}))
                    for option in f.rating
                ]
                assert _inputs(rating_choices(f.rating, f.keys)) == [str(w) for w in widgets]
                assert _inputs(checkbox_list(f.sources)) == _inputs(f.sources())
                assert re.sub(r"\s+", " ", checkbox_list(f.sources)).strip() == str(f.sources())
                if f.critical is not None:
                    assert str(checkbox(f.critical)) == str(f.critical())
                compared += 1
                is_rated = item.code in items
                assert ("checked" in rating_choices(f.rating, f.keys)) == is_rated
                assert ("checked" in checkbox_list(f.sources)) == is_rated
    assert compared == len(instrument.items)


def test_forms_of_one_section_share_a_class_but_not_their_data(app: Flask, world: World) -> None:
    """The section form's class is made once per instrument, section, language and the items
    that can be confirmed unchanged (for speed); each form still holds its own ratings."""
    instrument = world.instrument_of_key("savry-style", "1.0")
    domain = instrument.domains[0]
    first, second = domain.items[0], domain.items[1]
    rated = Content({first.code: ItemRating(first.scale.levels[0].code, "Fiktiv")}, None, "")
    previous = Content({second.code: ItemRating(second.scale.levels[0].code, "Förra")}, None, "")
    with app.test_request_context():
        one = domain_form(instrument, domain, "sv", rated, 1)
        two = domain_form(instrument, domain, "sv", Content({}, None, ""), 2)
        english = domain_form(instrument, domain, "en", rated, 1)
        again = domain_form(instrument, domain, "sv", rated, 3, previous=previous)
    assert type(one) is type(two) and type(one) is not type(english)
    assert one[f"rating_{first.code}"].data == first.scale.levels[0].code
    assert two[f"rating_{first.code}"].data is None and two.lock_version.data == "2"
    assert one[f"rating_{first.code}"] is not two[f"rating_{first.code}"]
    assert first.title.get("en") in english[f"rating_{first.code}"].label.text
    # A reassessment's confirm box only where there was a previous rating.
    assert type(again) is not type(one) and again.content is rated and again.previous is previous
    assert f"unchanged_{second.code}" in again and f"unchanged_{first.code}" not in again
    assert f"unchanged_{second.code}" not in one

"""Templates translate with the request's translations, bound once per page (riskassess/i18n.py),
exactly as Jinja's new-style gettext does."""

from __future__ import annotations

from flask import Flask, render_template_string, session
from flask_babel import force_locale

from riskassess.i18n import lazy_gettext


def _render(app: Flask, source: str, lang: str | None = None) -> str:
    with app.test_request_context("/"):
        if lang:
            session["lang"] = lang
        return render_template_string(source)


def test_strings_are_translated_for_the_request(app: Flask) -> None:
    source = '{{ _("Nothing was started.") }}'
    assert _render(app, source) == "Ingenting påbörjades."
    assert _render(app, source, "en") == "Nothing was started."


def test_variables_are_escaped_and_plurals_chosen(app: Flask) -> None:
    source = (
        '{{ _("%(title)s, version %(version)s", title="<b>", version="1") }}|'
        '{{ ngettext("%(num)s case", "%(num)s cases", 1) }}|'
        '{{ ngettext("%(num)s case", "%(num)s cases", 3) }}'
    )
    assert _render(app, source) == "&lt;b&gt;, version 1|1 ärende|3 ärenden"


def test_a_trans_block_uses_them_too(app: Flask) -> None:
    source = "{% trans %}Nothing was started.{% endtrans %}"
    assert _render(app, source) == "Ingenting påbörjades."


def test_lazy_strings_follow_the_request_and_a_forced_locale(app: Flask) -> None:
    """Forms' lazy strings are translated through the request's translations, found once a
    request (riskassess.i18n.lazy_gettext), and still follow Flask-Babel's force_locale."""
    label = lazy_gettext("Rationale")
    numbered = lazy_gettext("%(num)s case", num=2)  # formatted with its variables
    assert str(label) == "Rationale"  # outside a request: the untranslated string
    with app.test_request_context("/"):
        assert str(label) == "Motivering" and str(numbered) == "2 ärende"
        with force_locale("en"):
            assert str(label) == "Rationale"
        assert str(label) == "Motivering"
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert str(label) == "Rationale"

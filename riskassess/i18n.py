"""Gettext for templates, with the page's translations looked up once per page.

Flask-Babel's template gettext looks up the request's domain, locale and translations anew
for every string, through several context-local proxies: on the case page that was about 60
strings and 470 proxy lookups, a tenth of the page's time. The context processor here gives
each rendered template `gettext` and `ngettext` bound to the translations of the request,
found once; templates resolve those names from their context before the environment's
globals, so Flask-Babel's callables remain only for macros imported without context.
Both behave as Jinja's new-style gettext does (`jinja2.ext.i18n` with `newstyle=True`): the
result is marked safe where autoescaping is on and always formatted with its variables.

`lazy_gettext` is Flask-Babel's, translated through the same once-a-request lookup: a form's
labels, choices and messages are lazy strings, and Flask-Babel found the translations anew
for each (about twelve context-local lookups); the assessment page resolves some hundred.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.support import NullTranslations
from flask import Flask, g, has_app_context
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2.runtime import Context
from jinja2.utils import pass_context
from markupsafe import Markup


def _gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, string: str, /, **variables: Any) -> str:
        value = translate(string)
        if context.eval_ctx.autoescape:
            # Our own catalog's text, marked as jinja2.ext marks it; `%` escapes the variables.
            value = Markup(value)  # noqa: S704  # nosec B704
        return value % variables

    return gettext


def _ngettext(translate: Callable[[str, str, int], str]) -> Callable[..., str]:
    @pass_context
    def ngettext(
        context: Context, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        value = translate(singular, plural, num)
        if context.eval_ctx.autoescape:
            # Our own catalog's text, marked as jinja2.ext marks it; `%` escapes the variables.
            value = Markup(value)  # noqa: S704  # nosec B704
        return value % variables

    return ngettext


_CACHED = "riskassess_translations"  # on flask.g: (locale, translations)


def request_translations() -> NullTranslations:
    """The request's translations, found once a request (and again if the locale changes, as
    inside Flask-Babel's `force_locale`)."""
    if not has_app_context():
        outside: NullTranslations = get_translations()  # Flask-Babel's dummy catalog
        return outside
    locale = get_locale()
    cached = g.get(_CACHED)
    if cached is None or cached[0] is not locale:
        cached = (locale, get_translations())
        setattr(g, _CACHED, cached)
    translations: NullTranslations = cached[1]
    return translations


def _translate(string: str, **variables: Any) -> str:
    value = request_translations().ugettext(string)
    return value % variables if variables else value


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Like Flask-Babel's `lazy_gettext`: translated each time it is used as text."""
    return LazyString(_translate, string, **variables)


def _page_translations() -> dict[str, Any]:
    translations = request_translations()
    return {
        "gettext": _gettext(translations.ugettext),
        "ngettext": _ngettext(translations.ungettext),
    }


def install_page_gettext(app: Flask) -> None:
    """After Flask-Babel: bind the templates' gettext to each request's translations once."""
    app.context_processor(_page_translations)

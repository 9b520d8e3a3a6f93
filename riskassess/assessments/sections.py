"""The section navigation of the rating pages, shared by assessments and course sessions: where
each section is, and where a saved section leads."""

from __future__ import annotations

from typing import Protocol

from flask import abort

from riskassess.instruments.definition import Domain, Instrument


class RatingLinks(Protocol):
    """The addresses of one rating's pages (an assessment's, or a course participant's)."""

    def rate(self, domain_code: str) -> str: ...

    def judgement(self) -> str: ...

    def after_sections(self) -> str:
        """Where "Save and continue" leads from the last section."""
        ...

    def summary(self) -> str: ...


def domain_or_404(instrument: Instrument, domain_code: str) -> Domain:
    """The instrument's section with this code; an unknown code is not found."""
    for domain in instrument.domains:
        if domain.code == domain_code:
            return domain
    abort(404)


def after_saving(links: RatingLinks, instrument: Instrument, domain: Domain, go_on: bool) -> str:
    """Where a saved section leads: back to itself ("Save"), or on ("Save and continue") to
    the next section, and after the last one to the rating's next page."""
    if not go_on:
        return links.rate(domain.code)
    codes = [d.code for d in instrument.domains]
    position = codes.index(domain.code)
    if position == len(codes) - 1:
        return links.after_sections()
    return links.rate(codes[position + 1])

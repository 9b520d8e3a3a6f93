"""Course session forms: the trainer's new session, a participant's join, and the plain
CSRF-carrying forms of the buttons."""

from __future__ import annotations

from flask_babel import gettext
from wtforms import SelectChoice, StringField
from wtforms.validators import DataRequired, Length

from riskassess.assessments.forms import MultiCheckboxField
from riskassess.forms import BaseForm, OptionalChoice
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.training.vignettes import Vignette

NAME_MAX = 40


def vignette_choice(vignette: Vignette) -> str:
    return f"{vignette.id}@{vignette.version}"


def _instrument_name(vignette: Vignette, locale: str, instruments: InstrumentRegistry) -> str:
    """The vignette's instrument as trainers read it elsewhere: its title and version, not
    its technical id."""
    instrument = instruments.get(vignette.instrument_id, vignette.instrument_version)
    if instrument is None:  # a vignette's instrument is checked at start-up; kept readable
        return f"{vignette.instrument_id} {vignette.instrument_version}"
    return str(
        gettext(
            "%(title)s, version %(version)s",
            title=instrument.title.get(locale),
            version=instrument.version,
        )
    )


class NewCourseForm(BaseForm):
    title = StringField(
        _l("Name of the course"),
        description=_l("For example the date and the group. Not a participant's name."),
        validators=[DataRequired(), Length(max=120)],
    )
    vignettes = MultiCheckboxField(_l("Vignettes to rate"), validators=[OptionalChoice()])

    def __init__(
        self,
        vignettes: list[Vignette],
        locale: str,
        instruments: InstrumentRegistry,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.vignettes.choices = [
            SelectChoice(
                vignette_choice(v),
                f"{v.title.get(locale)} ({_instrument_name(v, locale, instruments)})",
            )
            for v in vignettes
        ]

    def chosen(self) -> list[tuple[str, str]]:
        keys = []
        for value in self.vignettes.data or []:
            ident, _sep, version = value.partition("@")
            keys.append((ident, version))
        return keys


class JoinForm(BaseForm):
    code = StringField(_l("Course code"), validators=[DataRequired(), Length(max=12)])
    display_name = StringField(
        _l("Name to show"),
        description=_l(
            "A first name or a nickname: the trainer and, after the reveal, the group see it. "
            "No account and no personal identity number are needed."
        ),
        validators=[DataRequired(), Length(max=NAME_MAX)],
    )


class ButtonForm(BaseForm):
    """A button's form: the CSRF token, nothing else."""

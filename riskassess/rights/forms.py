"""Forms of the rights pages. They only parse and validate."""

from __future__ import annotations

from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from riskassess.forms import BaseForm
from riskassess.i18n import lazy_gettext as _l
from riskassess.rights.information import MAX_LENGTH


class RegisterExtractForm(BaseForm):
    """Only the CSRF token: the case is in the path, nothing about the child in the request."""


class InformationTextForm(BaseForm):
    body_sv = TextAreaField(
        _l("Text in Swedish"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    body_en = TextAreaField(
        _l("Text in English"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    # The version the editor started from; empty for the default text.
    based_on = HiddenField(validators=[Optional(), Regexp(r"\A[0-9]{1,9}\Z")])

"""The one base form. Flask-WTF gives every form a CSRF token and translates WTForms' own
messages into the request's language through Flask-Babel (WTF_I18N_ENABLED)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class BaseForm(FlaskForm):
    """Every form of the app derives from this, so none can forget its CSRF token."""

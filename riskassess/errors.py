"""Domain errors raised by services; views turn them into form errors or HTTP answers."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it here: services run outside
    requests too (CLI). Views translate it with gettext when they show it."""
    return message


class DomainError(Exception):
    """A rule of the domain refuses the action. `message` is a translatable user message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessDenied(DomainError):
    pass


class WorkflowError(DomainError):
    pass


class EditConflict(DomainError):
    pass

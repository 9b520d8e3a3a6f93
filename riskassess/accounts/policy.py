"""Who may do what with one staff account. Roles say what kind of action; the unit says on
whose account."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.core.permissions import Permission, role_has


def can_manage_training(user: User, target: User) -> bool:
    """Record or remove `target`'s entries in the register of trained raters: administrators
    for every account, supervisors for the staff of their own unit. Nobody for their own
    account: someone else vouches for a person's training."""
    if not role_has(user.role, Permission.TRAINING_MANAGE) or user.id == target.id:
        return False
    if role_has(user.role, Permission.USER_MANAGE):
        return True
    return user.unit_id is not None and user.unit_id == target.unit_id

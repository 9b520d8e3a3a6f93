"""Every audit action the code writes, and every permission name (refusals at a route are
logged under it), has a label in the auditor's view."""

from __future__ import annotations

import re

from riskassess.assessments.workflow import Action
from riskassess.audit_log.forms import ACTION_LABELS
from riskassess.config import PROJECT_ROOT
from riskassess.core.permissions import Permission

TAG = re.compile(r'"([a-z_]+:[a-z_]+:[a-z_]+)"')


def test_every_written_action_has_a_label() -> None:
    written: set[str] = set()
    for path in (PROJECT_ROOT / "riskassess").rglob("*.py"):
        written.update(TAG.findall(path.read_text(encoding="utf-8")))
    # Workflow steps are tagged from the transition table (f"case:assessment:{action}").
    written.update(f"case:assessment:{action.value}" for action in Action if action != Action.EDIT)
    assert len(written) > 30
    assert sorted(written - set(ACTION_LABELS)) == []


def test_every_permission_has_a_label() -> None:
    assert sorted({str(p) for p in Permission} - set(ACTION_LABELS)) == []

"""Use cases for people reading the audit log: the auditor's filtered view and its CSV export,
a case's access log (loggutdrag), unusual access, and sample checks (loggkontroll).

Reading the log is itself logged: every function that shows entries appends its own entry in
the same transaction, after the query, so the reader does not see their own read. Functions take
the session and the acting user, flush, and never commit. Entries show ids and tags only; names
come from the staff tables when a page is rendered, never from a child's case.

One module per concern: common (filters, pages, queries), rows (entries for people, with
their flags), search (the auditor's view, export, a case's access log), unusual and samples.
Their public names are re-exported here.
"""

from __future__ import annotations

from riskassess.audit_log.services.common import (
    BURST_CASES,
    BURST_WINDOW,
    SAMPLE_MAX,
    Flag,
    LogFilter,
    LogRow,
    TooManyEntries,
    find_case,
)
from riskassess.audit_log.services.rows import find_bursts
from riskassess.audit_log.services.samples import (
    draw_sample,
    list_samples,
    read_sample,
    record_check,
)
from riskassess.audit_log.services.search import (
    case_access_log,
    case_log_rows,
    export_log,
    log_csv,
    search_log,
)
from riskassess.audit_log.services.unusual import unusual_access

__all__ = [
    "BURST_CASES",
    "BURST_WINDOW",
    "SAMPLE_MAX",
    "Flag",
    "LogFilter",
    "LogRow",
    "TooManyEntries",
    "case_access_log",
    "case_log_rows",
    "draw_sample",
    "export_log",
    "find_bursts",
    "find_case",
    "list_samples",
    "log_csv",
    "read_sample",
    "record_check",
    "search_log",
    "unusual_access",
]

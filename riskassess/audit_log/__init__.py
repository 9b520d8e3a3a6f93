"""Read-only views of the audit log for auditors and supervisors, and documented sample checks
of access (loggkontroll). The log itself lives in core/audit/."""

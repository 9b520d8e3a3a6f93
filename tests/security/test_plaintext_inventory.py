"""Every text or binary column is classified: sealed under a data key, key material, or
plaintext metadata named in SECURITY.md. A new column fails here until someone decides which,
and the leak test checks that every value of a sealed column really is sealed."""

from __future__ import annotations

from sqlalchemy import LargeBinary, String, Text

import riskassess.models  # noqa: F401 - the complete metadata
from riskassess.core.db import Base

# AES-256-GCM under a data key, in the stored format of core/crypto.py.
SEALED = {
    "case_file.identity",
    "assessment.content",
    "assessment.eligibility_reason",
    "assessment.correction_reason",
    "review_decision.comment",
    "assessment_feedback.content",
    "fact_batch.sealed",  # a month's facts, under the installation's statistics data key
    "case_access.note",
    "retention_hold.note",
    "audit_sample_item.comment",
    "user_account.mfa_secret",  # under the account's own data key
}
# Wrapped by a key-encryption key from the keyring.
KEY_MATERIAL = {"data_key.wrapped_key"}
# Plaintext on purpose; SECURITY.md lists these.
PLAINTEXT = {
    "audit_case_ref.case_id",  # case ids (UUIDs) an entry's details name, as an index
    "audit_entry.action",
    "audit_entry.object_type",
    "audit_entry.object_id",
    "audit_entry.outcome",
    "audit_entry.body",  # ids, tags, codes and counts; never personal plaintext
    "audit_entry.prev_hash",
    "audit_entry.hash",
    "audit_prune.first_prev_hash",
    "audit_prune.last_hash",
    "audit_prune.key_id",
    "audit_prune.signature",
    "audit_sample_item.entry_hash",
    "audit_sample_item.action",
    "audit_sample_item.object_type",
    "audit_sample_item.object_id",
    "audit_sample_item.check_outcome",
    "data_key.kek_id",
    "installation_setting.key",
    "installation_setting.value",
    "instrument_version.content_hash",
    "instrument_version.instrument_id",
    "instrument_version.version",
    "instrument_version.file_name",
    "instrument_version.definition",  # the instrument file: no personal data
    "unit.code",
    "unit.name",
    "user_account.username",  # staff, not children
    "user_account.display_name",
    "user_account.password_hash",
    "user_account.role",
    "case_file.reference",  # pseudonymous case number
    "case_file.status",
    "case_file.pnr_index",  # keyed HMAC of the personnummer
    "case_file.pnr_claim",  # the same HMAC, on the one live case of the child
    "case_transfer.state",  # pending, accepted or declined
    "assessment.instrument_id",
    "assessment.instrument_version",
    "assessment.instrument_hash",
    "assessment.state",
    "assessment.content_hash",
    "assessment.kind",
    # A fact for follow-up statistics: the same instrument and kind as its assessment.
    "assessment_fact.instrument_id",
    "assessment_fact.instrument_version",
    "assessment_fact.kind",
    "fact_batch.instrument_id",  # with its unit and month: a batch of facts (see facts.py)
    "review_decision.decision",
    "case_access.kind",
    "case_access.purpose",  # a code
    "retention_hold.reason",  # a code
    "login_session.key_hash",  # SHA-256 of the session id in the cookie
    "login_session.data",  # staff user id, CSRF token, language, pending messages
    "user_account.reset_code_hash",  # SHA-256 of a one-time reset code (60 bits, 24 hours)
    "mfa_recovery_code.code_hash",  # SHA-256 of a one-time recovery code (50 bits)
    "rater_training.instrument_id",  # the register of trained raters: staff, not children
    "rater_training.course",  # a course's name, typed by an administrator or supervisor
    # Course sessions (demo mode only): fictional vignettes, participants without an account.
    # The information text for children and guardians: public, no personal data.
    "information_text.body_sv",
    "information_text.body_en",
    "training_course.title",  # the course's name, typed by the trainer
    "training_course.join_code",
    "training_course.state",
    "training_course.vignette_keys",  # vignette ids and versions
    "training_participant.display_name",  # a first name or nickname, typed by the participant
    "training_rating.vignette_id",
    "training_rating.vignette_version",
    "training_rating.content",  # ratings of a fictional vignette
}


def text_and_binary_columns() -> set[str]:
    return {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text | LargeBinary)
    }


def test_every_text_or_binary_column_is_classified() -> None:
    columns = text_and_binary_columns()
    unclassified = columns - SEALED - KEY_MATERIAL - PLAINTEXT
    assert not unclassified, (
        f"classify {sorted(unclassified)}: seal personal data under the case's data key, or "
        "add it to PLAINTEXT here and to SECURITY.md"
    )
    assert not (SEALED | KEY_MATERIAL | PLAINTEXT) - columns, "remove columns that are gone"


def test_sealed_columns_are_binary() -> None:
    for name in SEALED:
        table_name, column_name = name.split(".")
        column = Base.metadata.tables[table_name].columns[column_name]
        assert isinstance(column.type, LargeBinary), name

"""Nothing a caseworker types about a child can be found in any stored row, nor (on SQLite) in
the database file or its write-ahead log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.core.db import Base
from tests.conftest import World, csrf, lock_version

NAME = "Zelmira Qvistbergsdotter"
PNR_12 = "201201019815"
RATIONALE = "Kvittrande-Blåbärsmotivering-4711"
JUDGEMENT = "Sammanfattning-Vinbärsbuske-0815"


def _needles() -> list[bytes]:
    texts = [NAME, "Qvistbergsdotter", PNR_12, "20120101-9815", "1201019815", "120101-9815"]
    texts += [RATIONALE, JUDGEMENT]
    return [t.encode("utf-8") for t in texts] + [t.encode("utf-16-le") for t in texts]


def test_stored_rows_file_and_wal_hold_no_plaintext(
    client: FlaskClient,
    world: World,
    db: Session,
    database_url: str,
    login: Callable[[str], None],
) -> None:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)
    login("cw.north")
    created = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(client, "/cases/new"),
            "name": NAME,
            "personnummer": "20120101-9815",
            "birth_date": "2012-01-01",
            "sex": "female",
        },
    )
    case_id = created.headers["Location"].rsplit("/", 1)[1]
    started = client.post(
        f"/cases/{case_id}/assessments",
        data={"csrf_token": csrf(client, f"/cases/{case_id}"), "instrument": "savry-style@1.0"},
    )
    rate_path = started.headers["Location"]
    assessment_id = rate_path.split("/")[2]
    saved = client.post(
        rate_path,
        data={
            "csrf_token": csrf(client, rate_path),
            "lock_version": str(lock_version(db, assessment_id)),
            "rating_H1": "high",
            "rationale_H1": RATIONALE,
        },
    )
    assert saved.status_code == 302
    judgement_path = f"/assessments/{assessment_id}/judgement"
    saved = client.post(
        judgement_path,
        data={
            "csrf_token": csrf(client, judgement_path),
            "lock_version": str(lock_version(db, assessment_id)),
            "judgement_level": "high",
            "judgement_reason": JUDGEMENT,
        },
    )
    assert saved.status_code == 302
    assert NAME in client.get(f"/cases/{case_id}").get_data(as_text=True)

    db.rollback()
    stored = _every_stored_value(db)
    assert len(stored) > 5_000  # the case, its assessment and the audit entries are there
    if database_url.startswith("sqlite"):
        # The raw file and its write-ahead log too: deleted pages and journal frames count.
        db_file = Path(database_url.removeprefix("sqlite:///"))
        stored += b"".join(p.read_bytes() for p in (db_file, Path(f"{db_file}-wal")) if p.exists())
    for needle in _needles():
        assert needle not in stored, f"{needle!r} found in plaintext"


def _every_stored_value(db: Session) -> bytes:
    """Every value of every row of every table, as the database returns it."""
    chunks: list[bytes] = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)):
            for value in row:
                chunks.append(value if isinstance(value, bytes) else str(value).encode("utf-8"))
    return b"\n".join(chunks)

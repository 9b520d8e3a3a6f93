"""Every message the code and templates use has a Swedish translation, and the compiled
catalogue that ships is the one made from the .po file."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from riskassess.config import PROJECT_ROOT

CATALOGUE = PROJECT_ROOT / "riskassess" / "translations" / "sv" / "LC_MESSAGES"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
}


def _used_messages() -> set[str]:
    method_map = [("riskassess/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue():  # type: ignore[no-untyped-def]
    with (CATALOGUE / "messages.po").open("rb") as handle:
        return read_po(handle, locale="sv")


def _translated(entry) -> bool:  # type: ignore[no-untyped-def]
    if entry is None:
        return False
    texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(texts)


def test_every_used_message_has_a_swedish_translation() -> None:
    catalogue = _catalogue()
    used = _used_messages()
    assert len(used) > 50
    missing = sorted(m for m in used if not _translated(catalogue.get(m)))
    assert not missing, f"untranslated (run `make translations` and translate): {missing}"
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy translations: {fuzzy}"


def test_compiled_catalogue_matches_the_po_file() -> None:
    buffer = io.BytesIO()
    write_mo(buffer, _catalogue())
    assert Path(CATALOGUE / "messages.mo").read_bytes() == buffer.getvalue(), (
        "run `make translations`"
    )

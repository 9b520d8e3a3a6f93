"""Every message the code and templates use has a Swedish translation, and the compiled
catalogue that ships holds the same translations as the .po file.

The catalogues are compared parsed, message by message: the bytes a given Babel version writes
(its header, its ordering) are no concern of these tests."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
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


def _messages(catalogue) -> dict[object, object]:  # type: ignore[no-untyped-def]
    """id -> translation for every translated, non-fuzzy message (the header excluded)."""

    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        plain(entry.id): plain(entry.string)
        for entry in catalogue
        if entry.id and not entry.fuzzy and _translated(entry)
    }


def test_compiled_catalogue_matches_the_po_file() -> None:
    with (CATALOGUE / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)
    expected = _messages(_catalogue())
    assert len(expected) > 50
    assert _messages(compiled) == expected, "run `make translations`"


def test_a_changed_translation_is_noticed() -> None:
    """The comparison above can fail: one altered translation makes the catalogues differ."""
    catalogue = _catalogue()
    altered = _messages(catalogue)
    first = next(iter(altered))
    altered[first] = "något annat"
    assert altered != _messages(catalogue)

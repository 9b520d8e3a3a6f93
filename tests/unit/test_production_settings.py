"""Production refuses unsafe settings before anything is served: debug on, a missing, short
or placeholder secret, a missing keyring; and the server's own settings are checked."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from riskassess.config import (
    ConfigError,
    ServerSettings,
    check_settings,
    load_server_settings,
    load_settings,
)

GOOD_SECRET = secrets.token_urlsafe(48)


def _production(tmp_path: Path, **env: str) -> dict[str, str]:
    keyring = tmp_path / "keyring.json"
    keyring.write_text("{}")  # check_settings only asks that the file is there
    return {
        "RISKASSESS_MODE": "production",
        "RISKASSESS_KEYRING": str(keyring),
        "RISKASSESS_SECRET_KEY": GOOD_SECRET,
        **env,
    }


def test_generated_secrets_pass(tmp_path: Path) -> None:
    for secret in (GOOD_SECRET, secrets.token_hex(16), secrets.token_hex(32)):
        check_settings(load_settings(_production(tmp_path, RISKASSESS_SECRET_KEY=secret)))


@pytest.mark.parametrize("variable", ["RISKASSESS_DEBUG", "FLASK_DEBUG"])
def test_debug_is_refused(tmp_path: Path, variable: str) -> None:
    with pytest.raises(ConfigError, match="Debug mode cannot be used in production"):
        check_settings(load_settings(_production(tmp_path, **{variable: "1"})))


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("", "at least 32 characters"),
        ("short-but-random-Zq8", "at least 32 characters"),
        ("x" * 40, "placeholder"),
        ("changeme" * 5, "placeholder"),
        ("please-change-this-to-something-random", "placeholder"),
        ("my-example-key-9f8e7d6c5b4a39281706", "placeholder"),
        ("dev-secret-key-0123456789abcdefghij", "placeholder"),
    ],
)
def test_a_missing_short_or_placeholder_secret_is_refused(
    tmp_path: Path, secret: str, why: str
) -> None:
    with pytest.raises(ConfigError, match=why):
        check_settings(load_settings(_production(tmp_path, RISKASSESS_SECRET_KEY=secret)))


def test_a_missing_keyring_is_refused(tmp_path: Path) -> None:
    env = _production(tmp_path, RISKASSESS_KEYRING=str(tmp_path / "nowhere.json"))
    with pytest.raises(ConfigError, match=r"No keyring at .*nowhere\.json.*keys init"):
        check_settings(load_settings(env))


def test_the_demo_needs_none_of_it(tmp_path: Path) -> None:
    check_settings(load_settings({"RISKASSESS_INSTANCE_PATH": str(tmp_path)}, mode="demo"))


def test_server_settings_have_defaults_and_bounds() -> None:
    assert load_server_settings({}) == ServerSettings(workers=2, threads=4, timeout=30)
    assert load_server_settings(
        {"RISKASSESS_WORKERS": "5", "RISKASSESS_THREADS": "1", "RISKASSESS_TIMEOUT": "120"}
    ) == ServerSettings(workers=5, threads=1, timeout=120)
    for name, value in (
        ("RISKASSESS_WORKERS", "0"),
        ("RISKASSESS_THREADS", "many"),
        ("RISKASSESS_TIMEOUT", "2"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_server_settings({name: value})


def test_trusted_proxies_are_a_small_count() -> None:
    assert load_settings({}).trusted_proxies == 0
    assert load_settings({"RISKASSESS_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    with pytest.raises(ConfigError, match="RISKASSESS_TRUSTED_PROXIES"):
        load_settings({"RISKASSESS_TRUSTED_PROXIES": "all"})


def test_only_the_demo_hashes_passwords_at_the_lower_cost(tmp_path: Path) -> None:
    """Production keeps the stronger Argon2id cost; the demo, whose password is printed on its
    login page, uses OWASP's minimum (19 MiB, two passes) so that its seed signs quickly."""
    production = load_settings(_production(tmp_path))
    demo = load_settings({"RISKASSESS_INSTANCE_PATH": str(tmp_path)}, mode="demo")
    assert (production.password_time_cost, production.password_memory_kib) == (3, 65536)
    assert (demo.password_time_cost, demo.password_memory_kib) == (2, 19456)

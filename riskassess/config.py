"""Settings: defaults, then environment variables (`RISKASSESS_*`), validated once and frozen.

Nothing here touches the database or the keyring's contents; it only decides where they are
and refuses combinations that would be unsafe in production.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
SHIPPED_INSTRUMENTS = PROJECT_ROOT / "instruments"
# Training vignettes are data like instruments; they live beside them, in a folder the
# instrument loader never reads (it reads only the top level of a folder).
SHIPPED_VIGNETTES = SHIPPED_INSTRUMENTS / "vignettes"
MODES = ("production", "demo")
DEMO_SECRET_FILE = "demo-secret-key"  # noqa: S105 - a file name, not a secret  # nosec B105


class ConfigError(Exception):
    """A setting is missing or unsafe; the message is meant for the operator."""


@dataclass(frozen=True)
class Settings:
    mode: str
    database_url: str
    keyring_path: Path
    secret_key: str
    instance_path: Path
    instruments_dirs: tuple[Path, ...]
    # Training vignettes: the shipped folder, then local folders (licensed course material).
    # Read in demo mode only.
    vignettes_dirs: tuple[Path, ...] = (SHIPPED_VIGNETTES,)
    debug: bool = False
    testing: bool = False
    # Argon2 cost; tests lower it so a suite with many logins stays quick.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Cookies are marked Secure in production (served behind TLS); demo runs on plain http.
    secure_cookies: bool = True
    # Gallring: case data is deleted this many years after the case's last entry.
    retention_years: int = 5
    # Login sessions end after this long without a request, and this long after login.
    session_idle_minutes: int = 15
    session_max_hours: int = 12
    # Where sessions are kept when several servers share them; None keeps them in the database.
    redis_url: str | None = None
    # Prefix of this installation's keys, for several installations sharing one Redis.
    redis_prefix: str = "riskassess:"
    # Signed checkpoints of the audit log, kept outside the database; the app signs one by
    # itself each time the log passes a multiple of this many entries (0: only by command).
    audit_checkpoints_path: Path = DEFAULT_INSTANCE / "audit-checkpoints.jsonl"
    audit_checkpoint_every: int = 1000
    # A second factor (TOTP) at every login: always in production, a choice per user in the
    # demo. Only a test harness turns it off in production mode.
    mfa_required: bool = True
    # Reverse proxies in front of the app whose X-Forwarded-For and -Proto are believed
    # (werkzeug's ProxyFix); 0 believes none, so a client cannot fake its address or scheme.
    trusted_proxies: int = 0

    @property
    def is_demo(self) -> bool:
        return self.mode == "demo"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


# The demo's Argon2 cost: OWASP's minimum for Argon2id (19 MiB, two passes) rather than the
# production cost. Its accounts' password is printed on its login page and its data is
# fictional, so the hash guards nothing; the lower cost keeps the many signed approvals of
# its seed (riskassess.training.followup_sample) and a classroom's logins quick.
DEMO_ARGON2_TIME_COST = 2
DEMO_ARGON2_MEMORY_KIB = 19456


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _whole_number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = env.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
    return number


def load_settings(environ: Mapping[str, str] | None = None, *, mode: str | None = None) -> Settings:
    """Build settings from the environment; `mode` (from the CLI) wins over RISKASSESS_MODE."""
    env = os.environ if environ is None else environ
    chosen_mode = mode or env.get("RISKASSESS_MODE", "production")
    if chosen_mode not in MODES:
        raise ConfigError(
            f"RISKASSESS_MODE must be one of {', '.join(MODES)}, not {chosen_mode!r}."
        )
    instance = Path(env.get("RISKASSESS_INSTANCE_PATH", str(DEFAULT_INSTANCE)))
    prefix = "demo" if chosen_mode == "demo" else "riskassess"
    database_url = env.get(
        "RISKASSESS_DATABASE_URL", f"sqlite:///{instance / (prefix + '.sqlite')}"
    )
    keyring = Path(env.get("RISKASSESS_KEYRING", str(instance / f"{prefix}-keyring.json")))
    extra = env.get("RISKASSESS_INSTRUMENTS_PATH", "")
    dirs = [SHIPPED_INSTRUMENTS] + [Path(p) for p in extra.split(os.pathsep) if p]
    extra_vignettes = env.get("RISKASSESS_VIGNETTES_PATH", "")
    vignette_dirs = [SHIPPED_VIGNETTES] + [Path(p) for p in extra_vignettes.split(os.pathsep) if p]
    secret = env.get("RISKASSESS_SECRET_KEY", "")
    return Settings(
        mode=chosen_mode,
        database_url=database_url,
        keyring_path=keyring,
        secret_key=secret,
        instance_path=instance,
        instruments_dirs=tuple(dirs),
        vignettes_dirs=tuple(vignette_dirs),
        # Flask reads FLASK_DEBUG by itself; both count, so neither can slip past production.
        debug=_flag(env.get("RISKASSESS_DEBUG")) or _flag(env.get("FLASK_DEBUG")),
        secure_cookies=chosen_mode == "production",
        mfa_required=chosen_mode == "production",
        retention_years=_whole_number(
            env, "RISKASSESS_RETENTION_YEARS", Settings.retention_years, 1, 100
        ),
        session_idle_minutes=_whole_number(
            env, "RISKASSESS_SESSION_IDLE_MINUTES", Settings.session_idle_minutes, 1, 24 * 60
        ),
        session_max_hours=_whole_number(
            env, "RISKASSESS_SESSION_MAX_HOURS", Settings.session_max_hours, 1, 7 * 24
        ),
        redis_url=env.get("RISKASSESS_REDIS_URL") or None,
        redis_prefix=env.get("RISKASSESS_REDIS_PREFIX") or Settings.redis_prefix,
        audit_checkpoints_path=Path(
            env.get("RISKASSESS_AUDIT_CHECKPOINTS")
            or instance
            / ("demo-audit-checkpoints.jsonl" if prefix == "demo" else "audit-checkpoints.jsonl")
        ),
        audit_checkpoint_every=_whole_number(
            env, "RISKASSESS_AUDIT_CHECKPOINT_EVERY", Settings.audit_checkpoint_every, 0, 10**6
        ),
        trusted_proxies=_whole_number(env, "RISKASSESS_TRUSTED_PROXIES", 0, 0, 5),
        password_time_cost=(
            DEMO_ARGON2_TIME_COST if chosen_mode == "demo" else Settings.password_time_cost
        ),
        password_memory_kib=(
            DEMO_ARGON2_MEMORY_KIB if chosen_mode == "demo" else Settings.password_memory_kib
        ),
    )


# Words that mark a value copied from an example or a template rather than generated.
PLACEHOLDER_WORDS = ("change", "example", "secret", "default", "placeholder", "insecure")
# A command to show, not a secret.
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105  # nosec B105


def _looks_like_placeholder(secret: str) -> bool:
    """A secret typed or copied rather than generated: few distinct characters ("x" * 40,
    a repeated word) or a template's word. A generated one, even in hex (16 symbols), has
    far more than 8 distinct characters in 32."""
    lowered = secret.lower()
    return len(set(secret)) < 8 or any(word in lowered for word in PLACEHOLDER_WORDS)


def check_settings(settings: Settings) -> None:
    """Refuse settings that are unsafe for the chosen mode."""
    if settings.testing:
        return
    if settings.mode == "production":
        if settings.debug:
            raise ConfigError(
                "Debug mode cannot be used in production (unset RISKASSESS_DEBUG and FLASK_DEBUG)."
            )
        if len(settings.secret_key) < 32:
            raise ConfigError(
                "RISKASSESS_SECRET_KEY must be set to a random value of at least 32 characters "
                f"in production (generate one with {GENERATE_SECRET})."
            )
        if _looks_like_placeholder(settings.secret_key):
            raise ConfigError(
                "RISKASSESS_SECRET_KEY looks like a placeholder, not a random value; "
                f"generate one with {GENERATE_SECRET}."
            )
        if not settings.keyring_path.is_file():
            raise ConfigError(
                f"No keyring at {settings.keyring_path}. Create one with `riskassess keys init` "
                "or point RISKASSESS_KEYRING at it."
            )


def demo_secret_key(instance: Path) -> str:
    """The demo's session signing key, kept in its instance folder (readable by its owner
    only) so that a restart does not log out a classroom; created on first start, like the
    demo keyring. Production never uses this: it requires RISKASSESS_SECRET_KEY."""
    path = instance / DEMO_SECRET_FILE
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < 32:
            raise ConfigError(
                f"The demo's secret key in {path} is too short; delete the file and a new one "
                "is made at the next start."
            ) from None
        return secret
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


@dataclass(frozen=True)
class ServerSettings:
    """How `riskassess serve` runs gunicorn: worker processes, threads in each, and the
    seconds a request may take before its worker is restarted."""

    workers: int = 2
    threads: int = 4
    timeout: int = 30


def load_server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    env = os.environ if environ is None else environ
    return ServerSettings(
        workers=_whole_number(env, "RISKASSESS_WORKERS", ServerSettings.workers, 1, 64),
        threads=_whole_number(env, "RISKASSESS_THREADS", ServerSettings.threads, 1, 64),
        timeout=_whole_number(env, "RISKASSESS_TIMEOUT", ServerSettings.timeout, 5, 3600),
    )

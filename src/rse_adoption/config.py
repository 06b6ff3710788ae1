"""Effective settings: defaults, then `RSE_ADOPTION_*` environment variables, then flags.

Each metric parameter that the docs call configurable has one field here, with its unit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_DATA_DIR = "rse-data"


@dataclass(frozen=True)
class Settings:
    """Settings shared by every command.

    data_dir: the store folder. timezone: IANA name used to read timestamps that carry no
    offset. window_days: length of the report window in days. tipping_low/tipping_high:
    contributor shares (0..1) of the tipping band. min_group_size: smallest group, in
    people, whose figures may be shown.
    """

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    timezone: str = "UTC"
    window_days: int = 90
    tipping_low: float = 0.10
    tipping_high: float = 0.15
    min_group_size: int = 5

    def with_overrides(self, **values: Any) -> Settings:
        """Return a copy with every non-None value applied (flags win over everything)."""
        changes = {k: v for k, v in values.items() if v is not None}
        if "data_dir" in changes:
            changes["data_dir"] = Path(changes["data_dir"])
        return validate(replace(self, **changes))


_ENV = {
    "data_dir": ("RSE_ADOPTION_DATA_DIR", str),
    "timezone": ("RSE_ADOPTION_TIMEZONE", str),
    "window_days": ("RSE_ADOPTION_WINDOW_DAYS", int),
    "tipping_low": ("RSE_ADOPTION_TIPPING_LOW", float),
    "tipping_high": ("RSE_ADOPTION_TIPPING_HIGH", float),
    "min_group_size": ("RSE_ADOPTION_MIN_GROUP_SIZE", int),
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Defaults overridden by the `RSE_ADOPTION_*` environment variables that are set."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field, (name, kind) in _ENV.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[field] = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    return Settings().with_overrides(**values)


def validate(settings: Settings) -> Settings:
    """Reject settings that would make every figure meaningless."""
    if settings.window_days < 1:
        raise ConfigError(f"window must be at least 1 day, got {settings.window_days}")
    if not 0 < settings.tipping_low <= settings.tipping_high <= 1:
        raise ConfigError(
            "tipping point needs 0 < low <= high <= 1, got "
            f"low={settings.tipping_low} high={settings.tipping_high}"
        )
    if settings.min_group_size < 1:
        raise ConfigError(f"min_group_size must be at least 1, got {settings.min_group_size}")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except Exception:
        raise ConfigError(f"unknown time zone {settings.timezone!r}") from None
    return settings

"""Effective settings: defaults, then rse-adoption.toml, then `RSE_ADOPTION_*` environment
variables, then flags.

Each metric parameter that the docs call configurable has one field here, with its unit.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import EXIT_USAGE, ConfigError

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
    #: Raw events older than this many days are dropped by `prune` (13 months: a year of
    #: history plus the month being compared with last year's).
    retention_days: int = 396
    #: (alias, canonical name) pairs from the file's [site_aliases]: a site spelled as
    #: an alias in the directory or the events is counted under the canonical name.
    site_aliases: tuple[tuple[str, str], ...] = ()
    #: Target of the ambassador network: one ambassador per this many employees (50: two
    #: per 100, the figure `ambassadors` compares each site with).
    ambassador_per_employees: int = 50
    #: A community with activity in the window but no post for more than this many days is
    #: `quiet` (docs/metrics.md, "Communities").
    communities_quiet_days: int = 7
    #: Weeks of weekly contributor-share points the forecast fits (docs/metrics.md).
    forecast_lookback_weeks: int = 52
    #: The network's launch date (YYYY-MM-DD), when known: it fixes the start of diffusion
    #: in the forecast's Bass fit, which then estimates p much more reliably.
    launch_date: str | None = None
    #: A column mapping file (`ingest --mapping`, docs/ingest.md) applied to every ingest;
    #: relative paths in the configuration file are relative to that file.
    mapping_file: str | None = None
    #: The query engine of the metrics: "duckdb" (embedded) or "spark" (docs/scale.md).
    engine: str = "duckdb"
    #: Spark's master URL (`local[4]`, `spark://host:7077`, `yarn`) or Spark Connect URL
    #: (`sc://host:15002`); None: $SPARK_REMOTE, else local mode with every core.
    spark_master: str | None = None
    #: `fetch m365` (docs/m365.md): the app registration's tenant and client ids, the
    #: certificate credential (PEM file holding the private key, and its SHA-1 thumbprint)
    #: and the endpoints (national clouds, proxies). The client secret is not a setting:
    #: it is read from RSE_ADOPTION_M365_CLIENT_SECRET only, never from a file.
    m365_tenant_id: str | None = None
    m365_client_id: str | None = None
    m365_client_certificate: str | None = None
    m365_client_certificate_thumbprint: str | None = None
    m365_graph_url: str = "https://graph.microsoft.com/v1.0"
    m365_authority_url: str = "https://login.microsoftonline.com"
    #: `fetch slack` (docs/slack.md): Slack's Web API base URL (GovSlack, proxies) and the
    #: days of channel history read again to find threads with new replies. The token is
    #: not a setting: it is read from RSE_ADOPTION_SLACK_TOKEN only, never from a file.
    slack_api_url: str = "https://slack.com/api/"
    slack_lookback_days: int = 90
    #: `fetch slack --analytics`: days of member analytics kept, back from yesterday (at
    #: most Slack's rolling 13 months, which the default covers).
    slack_analytics_days: int = 400
    #: `fetch viva-engage` (docs/m365.md): the public-client app registration with the
    #: delegated Yammer permission `access_as_user` (tenant and client ids: [m365]'s when
    #: unset), the Yammer REST API's base URL and the file that keeps the signed-in
    #: administrator's refreshable tokens (default: .viva-engage-token.json in the store).
    #: A ready token is read from RSE_ADOPTION_VIVA_ENGAGE_TOKEN only, never from a file.
    viva_engage_tenant_id: str | None = None
    viva_engage_client_id: str | None = None
    viva_engage_api_url: str = "https://www.yammer.com/api/v1"
    viva_engage_token_cache: str | None = None
    #: The language of what people read (tables, Markdown, HTML, charts, status and
    #: history text): "en" or "fr". Never the machine's locale, so cron output is the
    #: same everywhere; JSON and CSV do not change with it.
    language: str = "en"

    def __post_init__(self) -> None:
        # Validated wherever it is built (the CLI, the library, a test): a Settings that
        # exists is one every metric can use (tipping_high=0 would divide by zero).
        if not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))
        validate(self)

    def with_overrides(self, **values: Any) -> Settings:
        """Return a copy with every non-None value applied (flags win over everything)."""
        changes = {k: v for k, v in values.items() if v is not None}
        if "data_dir" in changes:
            changes["data_dir"] = Path(changes["data_dir"])
        return replace(self, **changes)


_ENV = {
    "data_dir": ("RSE_ADOPTION_DATA_DIR", str),
    "timezone": ("RSE_ADOPTION_TIMEZONE", str),
    "window_days": ("RSE_ADOPTION_WINDOW_DAYS", int),
    "tipping_low": ("RSE_ADOPTION_TIPPING_LOW", float),
    "tipping_high": ("RSE_ADOPTION_TIPPING_HIGH", float),
    "min_group_size": ("RSE_ADOPTION_MIN_GROUP_SIZE", int),
    "retention_days": ("RSE_ADOPTION_RETENTION_DAYS", int),
    "ambassador_per_employees": ("RSE_ADOPTION_AMBASSADOR_PER_EMPLOYEES", int),
    "communities_quiet_days": ("RSE_ADOPTION_COMMUNITIES_QUIET_DAYS", int),
    "forecast_lookback_weeks": ("RSE_ADOPTION_FORECAST_LOOKBACK_WEEKS", int),
    "launch_date": ("RSE_ADOPTION_LAUNCH_DATE", str),
    "mapping_file": ("RSE_ADOPTION_MAPPING", str),
    "engine": ("RSE_ADOPTION_ENGINE", str),
    "spark_master": ("RSE_ADOPTION_SPARK_MASTER", str),
    "m365_tenant_id": ("RSE_ADOPTION_M365_TENANT_ID", str),
    "m365_client_id": ("RSE_ADOPTION_M365_CLIENT_ID", str),
    "m365_client_certificate": ("RSE_ADOPTION_M365_CLIENT_CERTIFICATE", str),
    "m365_client_certificate_thumbprint": ("RSE_ADOPTION_M365_CLIENT_CERTIFICATE_THUMBPRINT", str),
    "m365_graph_url": ("RSE_ADOPTION_M365_GRAPH_URL", str),
    "m365_authority_url": ("RSE_ADOPTION_M365_AUTHORITY_URL", str),
    "slack_api_url": ("RSE_ADOPTION_SLACK_API_URL", str),
    "slack_lookback_days": ("RSE_ADOPTION_SLACK_LOOKBACK_DAYS", int),
    "slack_analytics_days": ("RSE_ADOPTION_SLACK_ANALYTICS_DAYS", int),
    "viva_engage_tenant_id": ("RSE_ADOPTION_VIVA_ENGAGE_TENANT_ID", str),
    "viva_engage_client_id": ("RSE_ADOPTION_VIVA_ENGAGE_CLIENT_ID", str),
    "viva_engage_api_url": ("RSE_ADOPTION_VIVA_ENGAGE_API_URL", str),
    "viva_engage_token_cache": ("RSE_ADOPTION_VIVA_ENGAGE_TOKEN_CACHE", str),
    "language": ("RSE_ADOPTION_LANG", str),
}

CONFIG_FILE = "rse-adoption.toml"
ALIASES_HINT = '[site_aliases] maps names to names ("Paris - La Défense" = "Paris La Défense")'
KIND_WORDS = {int: "an integer", float: "a number", str: "a string"}
CONFIG_ENV = "RSE_ADOPTION_CONFIG"
#: Keys of rse-adoption.toml: (table, key) -> (Settings field, type). docs/operations.md.
FILE_KEYS: dict[tuple[str, str], tuple[str, type]] = {
    ("", "data_dir"): ("data_dir", str),
    ("", "timezone"): ("timezone", str),
    ("report", "window_days"): ("window_days", int),
    ("report", "min_group_size"): ("min_group_size", int),
    ("report", "language"): ("language", str),
    ("tipping_point", "low"): ("tipping_low", float),
    ("tipping_point", "high"): ("tipping_high", float),
    ("retention", "keep_days"): ("retention_days", int),
    ("ambassadors", "per_employees"): ("ambassador_per_employees", int),
    ("communities", "quiet_days"): ("communities_quiet_days", int),
    ("forecast", "lookback_weeks"): ("forecast_lookback_weeks", int),
    ("forecast", "launch_date"): ("launch_date", str),
    ("ingest", "mapping"): ("mapping_file", str),
    ("engine", "name"): ("engine", str),
    ("engine", "spark_master"): ("spark_master", str),
    ("m365", "tenant_id"): ("m365_tenant_id", str),
    ("m365", "client_id"): ("m365_client_id", str),
    ("m365", "client_certificate"): ("m365_client_certificate", str),
    ("m365", "client_certificate_thumbprint"): ("m365_client_certificate_thumbprint", str),
    ("m365", "graph_url"): ("m365_graph_url", str),
    ("m365", "authority_url"): ("m365_authority_url", str),
    ("slack", "api_url"): ("slack_api_url", str),
    ("slack", "lookback_days"): ("slack_lookback_days", int),
    ("slack", "analytics_days"): ("slack_analytics_days", int),
    ("viva_engage", "tenant_id"): ("viva_engage_tenant_id", str),
    ("viva_engage", "client_id"): ("viva_engage_client_id", str),
    ("viva_engage", "api_url"): ("viva_engage_api_url", str),
    ("viva_engage", "token_cache"): ("viva_engage_token_cache", str),
}
#: Secrets a configuration file may not hold (refused without echoing their value), and
#: the environment variable each comes from instead.
SECRET_KEYS: dict[tuple[str, str], str] = {
    ("m365", "client_secret"): "RSE_ADOPTION_M365_CLIENT_SECRET",
    ("m365", "token"): "RSE_ADOPTION_M365_TOKEN",
    ("slack", "token"): "RSE_ADOPTION_SLACK_TOKEN",
    ("slack", "admin_token"): "RSE_ADOPTION_SLACK_ADMIN_TOKEN",
    ("viva_engage", "token"): "RSE_ADOPTION_VIVA_ENGAGE_TOKEN",
}
#: The hosts a configuration file may send a vendor's credentials to, per URL setting:
#: the vendor's own and its documented national clouds (docs/m365.md, docs/slack.md).
#: Microsoft Graph: global, US Government L4 (GCC High), US Government L5 (DoD), China
#: (21Vianet) — learn.microsoft.com/graph/deployments; Microsoft Entra sign-in: global, US
#: Government, China (both documented names) — learn.microsoft.com/entra/identity-platform/
#: authentication-national-cloud; Slack: slack.com, and GovSlack's slack-gov.com. Any
#: other host (a proxy, a test server) only from the environment or a flag: a file in
#: cron's working folder must not be able to send the token elsewhere.
VENDOR_HOSTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "m365_graph_url": (
        "Microsoft Graph",
        (
            "graph.microsoft.com",
            "graph.microsoft.us",
            "dod-graph.microsoft.us",
            "microsoftgraph.chinacloudapi.cn",
        ),
        "RSE_ADOPTION_M365_GRAPH_URL",
    ),
    "m365_authority_url": (
        "Microsoft Entra sign-in",
        (
            "login.microsoftonline.com",
            "login.microsoftonline.us",
            "login.chinacloudapi.cn",
            "login.partner.microsoftonline.cn",
        ),
        "RSE_ADOPTION_M365_AUTHORITY_URL",
    ),
    "slack_api_url": ("Slack", ("slack.com", "slack-gov.com"), "RSE_ADOPTION_SLACK_API_URL"),
    #: Viva Engage's REST API (learn.microsoft.com/rest/api/yammer): www.yammer.com, and
    #: api.yammer.com, the resource of its Entra tokens.
    "viva_engage_api_url": (
        "Viva Engage",
        ("www.yammer.com", "api.yammer.com"),
        "RSE_ADOPTION_VIVA_ENGAGE_API_URL",
    ),
}


def url_host(url: str) -> str:
    """The host (and port, when not the default) of an https URL, lower case."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if port not in (None, 443) else host


def is_vendor_host(field: str, url: str) -> bool:
    """Whether `url` (an https URL setting `field`) goes to the vendor's own hosts (no
    credentials in it, no port but 443)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.username is None
        and parts.password is None
        and url_host(url) in VENDOR_HOSTS[field][1]
    )


#: The query engines of the metrics (metrics/engine.py); the first is the default.
ENGINES: tuple[str, ...] = ("duckdb", "spark")
#: The languages of people's outputs (report/i18n.py has the catalogues); the first is
#: the default.
LANGUAGES: tuple[str, ...] = ("en", "fr")


def config_path(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The configuration file in force: `--config`, else `$RSE_ADOPTION_CONFIG`, else
    `rse-adoption.toml` in the current folder if there is one. A file named explicitly
    (flag or variable) must exist."""
    named = explicit or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"{named}: configuration file not found")
        return named
    found = cwd / CONFIG_FILE
    return found if found.is_file() else None


def _key_line(lines: list[str], table: str, key: str) -> int:
    """1-based line where `key` is set inside `[table]` ("" for the top level), or 0."""
    current = ""
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip().strip('"')
        elif current == table and pattern.match(line):
            return number
    return 0


def read_config_file(path: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Settings fields set by the file, where each was set (`path:line`), and the site
    aliases it declares. Any unknown key, wrong type or syntax error is a ConfigError
    naming the file, the line and the key (exit 78)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    lines = text.splitlines()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    aliases: dict[str, str] = {}

    def where(table: str, key: str) -> str:
        line = _key_line(lines, table, key)
        return f"{path}:{line}" if line else str(path)

    def entries() -> list[tuple[str, str, Any]]:
        flat: list[tuple[str, str, Any]] = []
        for key, value in data.items():
            if isinstance(value, dict) and key not in ("site_aliases",):
                flat.extend((key, k, v) for k, v in value.items())
            else:
                flat.append(("", key, value))
        return flat

    for table, key, value in entries():
        name = f"{table}.{key}" if table else key
        if (table, key) == ("", "site_aliases"):
            if not isinstance(value, dict):
                raise ConfigError(f"{where('', key)}: {ALIASES_HINT}")
            for alias, site in value.items():
                if not isinstance(site, str):
                    raise ConfigError(f"{where('site_aliases', alias)}: {ALIASES_HINT}")
                aliases[alias.strip()] = site.strip()
            continue
        spec = FILE_KEYS.get((table, key))
        if (table, key) in SECRET_KEYS:
            # Never echo the value: it is a secret, and a file is no place for it.
            raise ConfigError(
                f"{where(table, key)}: {name} is never read from a file (it would leak "
                f"with it); set {SECRET_KEYS[table, key]} in the environment instead"
            )
        if spec is None:
            known = ", ".join(f"{t}.{k}" if t else k for t, k in FILE_KEYS)
            raise ConfigError(
                f"{where(table, key)}: unknown setting '{name}' (known: {known}, site_aliases)"
            )
        field, kind = spec
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(
                f"{where(table, key)}: {name} must be {KIND_WORDS[kind]}, got {value!r}"
            )
        if (  # an http:// URL is refused by `validate`, whoever gives it
            field in VENDOR_HOSTS
            and str(value).startswith("https://")
            and not is_vendor_host(field, str(value))
        ):
            vendor, hosts, env_name = VENDOR_HOSTS[field]
            raise ConfigError(
                f"{where(table, key)}: {name} = {value!r}: a configuration file may only name "
                f"{vendor}'s own hosts ({', '.join(hosts)}), as the token travels there; for "
                f"a proxy or another host set {env_name} in the environment instead"
            )
        if field == "data_dir":
            value = path.parent / str(value)  # relative to the file: cron runs from anywhere
        if field in ("mapping_file", "m365_client_certificate", "viva_engage_token_cache"):
            value = str(path.parent / str(value))
        values[field] = value
        sources[field] = where(table, key)
    return values, sources, aliases


def effective_settings(
    *,
    config: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    flag_source: str = "flag",
) -> tuple[Settings, dict[str, str]]:
    """Settings from defaults < configuration file < `RSE_ADOPTION_*` environment < flags
    (None flags are not given), and where each field came from: `default`, `PATH:LINE`,
    `env NAME` or `flag_source` ("flag" on the command line, "argument" in the library).
    An invalid value is a ConfigError (exit 78), exit 2 when a flag is involved."""
    env = os.environ if environ is None else environ
    sources = dict.fromkeys((f.name for f in fields(Settings)), "default")
    values: dict[str, Any] = {}
    path = config_path(config, env, cwd or Path.cwd())
    aliases: dict[str, str] = {}
    if path is not None:
        file_values, file_sources, aliases = read_config_file(path)
        values.update(file_values)
        sources.update(file_sources)
        if aliases:
            sources["site_aliases"] = where_aliases(path)
    for field, (name, kind) in _ENV.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[field] = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
        sources[field] = f"env {name}"
    for field, value in (flags or {}).items():
        if value is not None:
            values[field] = value
            sources[field] = flag_source
    if aliases:
        values["site_aliases"] = tuple(sorted(aliases.items()))
    try:
        return Settings().with_overrides(**values), sources
    except ConfigError as exc:
        involved = [f"{f} from {sources[f]}" for f in exc.fields if sources.get(f) != "default"]
        message = f"{exc}" + (f" ({'; '.join(involved)})" if involved else "")
        if any(sources.get(f) == flag_source for f in exc.fields):
            # A bad value typed on the command line is a usage error, whatever else is
            # involved: the user fixes the command, not the configuration.
            raise ConfigError(message, exc.fields, exit_code=EXIT_USAGE) from None
        raise ConfigError(message, exc.fields) from None


def where_aliases(path: Path) -> str:
    line = _key_line(path.read_text(encoding="utf-8").splitlines(), "", "site_aliases")
    if line:
        return f"{path}:{line}"
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(r"^\s*\[\s*site_aliases\s*\]", text):
            return f"{path}:{number}"
    return str(path)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults overridden by the configuration file and the environment (no flags)."""
    return effective_settings(environ=environ)[0]


#: Whole-number settings and their ranges: field -> (lowest, highest or None, the message
#: of a value out of range, with `{value}`).
_RANGES: dict[str, tuple[int, int | None, str]] = {
    "window_days": (1, None, "window must be at least 1 day, got {value}"),
    "retention_days": (1, None, "retention must be at least 1 day, got {value}"),
    "min_group_size": (1, None, "min_group_size must be at least 1, got {value}"),
    "ambassador_per_employees": (
        1,
        None,
        "ambassadors.per_employees must be at least 1, got {value}",
    ),
    "communities_quiet_days": (1, None, "communities.quiet_days must be at least 1, got {value}"),
    "forecast_lookback_weeks": (8, 520, "forecast.lookback_weeks must be 8 to 520, got {value}"),
    "slack_lookback_days": (0, 365, "slack.lookback_days must be 0 to 365, got {value}"),
    "slack_analytics_days": (1, 400, "slack.analytics_days must be 1 to 400, got {value}"),
}


def validate(settings: Settings) -> Settings:
    """Reject settings that would make every figure meaningless."""
    for name, (lowest, highest, message) in _RANGES.items():
        value = getattr(settings, name)
        if value < lowest or (highest is not None and value > highest):
            raise ConfigError(message.format(value=value), fields=(name,))
    if not 0 < settings.tipping_low <= settings.tipping_high <= 1:
        raise ConfigError(
            "tipping point needs 0 < low <= high <= 1, got "
            f"low={settings.tipping_low} high={settings.tipping_high}",
            fields=("tipping_low", "tipping_high"),
        )
    if settings.engine not in ENGINES:
        raise ConfigError(
            f"engine must be one of {', '.join(ENGINES)}, got {settings.engine!r}",
            fields=("engine",),
        )
    if settings.language not in LANGUAGES:
        raise ConfigError(
            f"report.language must be one of {', '.join(LANGUAGES)}, got {settings.language!r}",
            fields=("language",),
        )
    if settings.launch_date is not None:
        from datetime import date

        try:
            date.fromisoformat(settings.launch_date)
        except ValueError:
            raise ConfigError(
                f"forecast.launch_date must be a date YYYY-MM-DD, got {settings.launch_date!r}",
                fields=("launch_date",),
            ) from None
    for name, url in (
        ("m365_graph_url", settings.m365_graph_url),
        ("m365_authority_url", settings.m365_authority_url),
    ):
        if not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
            raise ConfigError(
                f"m365.{name.removeprefix('m365_')} must be an https:// URL, got {url!r}",
                fields=(name,),
            )
    if not re.fullmatch(r"https://[^\s/]+(/\S*)?", settings.viva_engage_api_url):
        raise ConfigError(  # the token travels with every request: never in clear text
            f"viva_engage.api_url must be an https:// URL, got {settings.viva_engage_api_url!r}",
            fields=("viva_engage_api_url",),
        )
    if not re.fullmatch(r"https://[^\s/]+(/\S*)?", settings.slack_api_url):
        raise ConfigError(  # the token travels with every request: never in clear text
            f"slack.api_url must be an https:// URL, got {settings.slack_api_url!r}",
            fields=("slack_api_url",),
        )
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except Exception:
        raise ConfigError(
            f"unknown time zone {settings.timezone!r}", fields=("timezone",)
        ) from None
    return settings

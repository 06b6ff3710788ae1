"""The sign-in of `fetch viva-engage`: a Viva Engage Verified Administrator signs in once
with the device-code flow (`--login`, msal's PublicClientApplication, delegated Yammer
permission `access_as_user`), and the refreshable tokens msal obtains are kept in a token
cache file (owner-only, written atomically); later runs take an access token from it
silently, refreshing it when needed. A ready token in RSE_ADOPTION_VIVA_ENGAGE_TOKEN is
used instead when set. Since July 2025 the Network Data Export API takes no app-only
token, so there is no client-credentials path here.

Every token read or obtained (the access token, the refresh tokens of the cache, the
device code) is remembered by redact.py before anything can print it. The HTTP client is
fetch/viva_engage.py's `ExportClient` (Graph's client, retries and deadline included).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import redact
from ..config import Settings
from ..errors import AccessDeniedError, ConfigError, OutputError, ServiceUnavailableError
from .m365_credentials import Credentials

if TYPE_CHECKING:
    from .viva_engage import ExportClient

TOKEN_ENV = "RSE_ADOPTION_VIVA_ENGAGE_TOKEN"
#: The Yammer resource's scope for Entra tokens (learn.microsoft.com/rest/api/yammer,
#: "Microsoft Entra Tokens"): `.default` asks for the delegated permissions the app was
#: granted on it, `access_as_user` among them.
SCOPE = "https://www.yammer.com/.default"
#: The token cache's file name in the store when [viva_engage] token_cache is not set.
DEFAULT_CACHE = ".viva-engage-token.json"
ADMIN_ROLE = "Verified Administrator"
LOGIN_HINT = (
    "a Viva Engage Verified Administrator signs in once with `rse-adoption fetch viva-engage "
    f"--login`, or set a ready token in {TOKEN_ENV} (docs/m365.md)"
)


def cache_path(settings: Settings) -> Path:
    """Where the signed-in administrator's tokens are kept."""
    if settings.viva_engage_token_cache:
        return Path(settings.viva_engage_token_cache)
    return settings.data_dir / DEFAULT_CACHE


def credentials(
    settings: Settings, environ: Mapping[str, str], *, login: bool = False
) -> Credentials:
    """The credentials of a run: a ready token from RSE_ADOPTION_VIVA_ENGAGE_TOKEN, else the
    public client's tenant and client ids ([viva_engage], else [m365]) with the token cache
    (which must exist unless signing in). ConfigError (exit 78) names what is missing."""
    api_url = settings.viva_engage_api_url.rstrip("/")
    authority_url = settings.m365_authority_url.rstrip("/")
    token = (environ.get(TOKEN_ENV) or "").strip() or None
    if token and not login:
        redact.remember(token)
        return Credentials(api_url, authority_url, token=token)
    tenant = settings.viva_engage_tenant_id or settings.m365_tenant_id
    client = settings.viva_engage_client_id or settings.m365_client_id
    missing = [
        f"[viva_engage] {key} (or [m365] {key}, or RSE_ADOPTION_VIVA_ENGAGE_{key.upper()})"
        for key, value in (("tenant_id", tenant), ("client_id", client))
        if not value
    ]
    if missing:
        raise ConfigError(
            "fetch viva-engage needs " + "; ".join(missing) + " in rse-adoption.toml: the "
            "app registration with the delegated Yammer permission access_as_user, or a "
            f"ready token in {TOKEN_ENV} (docs/m365.md)"
        )
    if not login and not cache_path(settings).is_file():
        raise ConfigError(
            f"fetch viva-engage: no sign-in saved in {cache_path(settings)}: {LOGIN_HINT}"
        )
    return Credentials(api_url, authority_url, tenant_id=tenant, client_id=client)


class _MsalHttp:
    """msal's HTTP interface over the export client (graph._MsalHttp), remembering the
    refresh token and the device code msal sends before they leave."""

    def __init__(self, client: ExportClient) -> None:
        from .graph import _MsalHttp as GraphMsalHttp

        self._inner = GraphMsalHttp(client)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        if isinstance(data, Mapping):
            for key in ("refresh_token", "device_code", "code"):
                redact.remember(data.get(key))
        return self._inner.post(url, params=params, data=data, headers=headers, **kw)

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self._inner.get(url, params=params, headers=headers, **kw)

    def close(self) -> None:
        pass


class SignIn:
    """msal's public client over a token cache file: `login` (device code) and `token`
    (silent, refreshed when it nears expiry)."""

    def __init__(self, client: ExportClient, path: Path) -> None:
        import msal

        from .graph import _silence_msal

        _silence_msal()
        self.client = client
        self.path = path
        self.cache = msal.SerializableTokenCache()
        if path.is_file():
            self._load()
        creds = client.creds
        # msal reads the authority's discovery document here: its failures are ours too.
        self.app = self._call(
            lambda: msal.PublicClientApplication(
                creds.client_id,
                authority=f"{creds.authority_url}/{creds.tenant_id}",
                token_cache=self.cache,
                http_client=_MsalHttp(client),
                instance_discovery=False,
            )
        )

    def _load(self) -> None:
        import msal

        try:
            self.cache.deserialize(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: the saved Viva Engage sign-in cannot be read "
                f"({type(exc).__name__}): remove it and sign in again with `rse-adoption fetch "
                "viva-engage --login`"
            ) from None
        for kind in (msal.TokenCache.CredentialType.REFRESH_TOKEN,
                     msal.TokenCache.CredentialType.ACCESS_TOKEN):  # fmt: skip
            for item in self.cache.search(kind):
                redact.remember(item.get("secret"))

    def save(self) -> None:
        """Write the cache atomically, owner-only (0600): a temporary file beside it,
        flushed, then renamed over it; a run killed meanwhile leaves the old one whole."""
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.{uuid.uuid4().hex}.tmp"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.cache.serialize())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(
                f"{self.path}: cannot write the Viva Engage sign-in: {exc.strerror}"
            ) from None

    def login(self, prompt: Callable[[str], None]) -> str:
        """The device-code flow: `prompt` shows Microsoft's instruction (a URL and a code
        to enter); returns the signed-in account's name once the cache is written."""
        flow = self._call(lambda: self.app.initiate_device_flow(scopes=[SCOPE]))
        if not isinstance(flow, dict) or "user_code" not in flow:
            raise AccessDeniedError(self._refused("refused to start the sign-in", flow))
        redact.remember(flow.get("device_code"))
        prompt(str(flow.get("message") or f"{flow.get('verification_uri')}: {flow['user_code']}"))
        result = self._call(lambda: self.app.acquire_token_by_device_flow(flow))
        if not isinstance(result, dict) or "access_token" not in result:
            raise AccessDeniedError(self._refused("refused the sign-in", result))
        self._remember(result)
        self.save()
        claims = result.get("id_token_claims") or {}
        return str(claims.get("preferred_username") or claims.get("upn") or "the administrator")

    def token(self) -> str:
        """An access token from the cache, refreshed silently when it nears expiry."""
        accounts = self.app.get_accounts()
        if not accounts:
            raise AccessDeniedError(f"{self.path} holds no signed-in account: {LOGIN_HINT}")
        result = self._call(
            lambda: self.app.acquire_token_silent_with_error([SCOPE], account=accounts[0])
        )
        if not isinstance(result, dict) or "access_token" not in result:
            raise AccessDeniedError(
                self._refused("refused to renew the saved sign-in", result)
                + f"; the {ADMIN_ROLE} signs in again with `rse-adoption fetch viva-engage "
                "--login`"
            )
        self._remember(result)
        if self.cache.has_state_changed:
            self.save()
        return str(result["access_token"])

    def _remember(self, result: Mapping[str, Any]) -> None:
        for key in ("access_token", "refresh_token", "id_token"):
            redact.remember(result.get(key))

    def _refused(self, what: str, result: object) -> str:
        creds = self.client.creds
        answer = result if isinstance(result, dict) else {}
        description = str(answer.get("error_description") or "").strip().splitlines()
        return creds.scrub(
            f"{self.client.sign_in_service} {what} (tenant {creds.tenant_id}, client "
            f"{creds.client_id}): {answer.get('error') or 'no token'}"
            + (f": {description[0]}" if description else "")
        )

    def _call(self, call: Callable[[], Any]) -> Any:
        """msal's call, its surprises made one-line errors (never a traceback)."""
        import json

        import msal

        creds = self.client.creds
        service = self.client.sign_in_service
        try:
            return call()
        except (ServiceUnavailableError, ConfigError, AccessDeniedError):
            raise
        except json.JSONDecodeError as exc:
            raise ServiceUnavailableError(
                creds.scrub(
                    f"{service} answered with a malformed body ({exc.msg}); run again later"
                )
            ) from None
        except msal.exceptions.MsalServiceError as exc:
            raise ServiceUnavailableError(
                creds.scrub(f"{service} failed: {_line(str(exc))}")
            ) from None
        except ValueError as exc:
            raise AccessDeniedError(
                creds.scrub(
                    f"{service} refused the app (tenant {creds.tenant_id}): {_line(str(exc))}"
                )
            ) from None
        except Exception as exc:
            raise ServiceUnavailableError(
                creds.scrub(f"{service} failed: {type(exc).__name__}: {_line(str(exc))}")
            ) from None


def _line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""

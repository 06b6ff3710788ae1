"""The credentials of `fetch m365`: a ready bearer token from the environment, or the app's
tenant and client ids with a secret (environment only) or a certificate (a file). Every
credential read is remembered by redact.py, so that no output can show it; Graph's client
(graph.py) uses them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import redact
from ..config import Settings
from ..errors import ConfigError

SECRET_ENV = "RSE_ADOPTION_M365_CLIENT_SECRET"
TOKEN_ENV = "RSE_ADOPTION_M365_TOKEN"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate, from the settings and the environment. `secret` and `token`
    come from the environment only and are never shown (see `scrub`)."""

    graph_url: str
    authority_url: str
    tenant_id: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    certificate: str | None = None
    thumbprint: str | None = None
    token: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """`text` with every credential replaced: these, and every one the process holds
        (redact.py: the access token msal obtained, the Slack token...)."""
        return redact.scrub(text, (self.secret, self.token))

    @property
    def graph_host(self) -> str:
        return host_of(self.graph_url)

    @property
    def authority_host(self) -> str:
        return host_of(self.authority_url)

    @property
    def scope(self) -> str:
        """Graph's resource for the client credentials flow: its origin plus /.default."""
        import httpx

        url = httpx.URL(self.graph_url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}/.default"


def credentials(settings: Settings, environ: Mapping[str, str]) -> Credentials:
    """The credentials of a run: a bearer token from RSE_ADOPTION_M365_TOKEN, else the
    app's tenant and client ids with a secret (RSE_ADOPTION_M365_CLIENT_SECRET) or a
    certificate. ConfigError (exit 78) names whatever is missing."""
    graph_url = settings.m365_graph_url.rstrip("/")
    authority_url = settings.m365_authority_url.rstrip("/")
    token = environ.get(TOKEN_ENV) or None
    if token:
        redact.remember(token)
        return Credentials(graph_url, authority_url, token=token.strip())
    missing = [
        f"[m365] {key} (or RSE_ADOPTION_M365_{key.upper()})"
        for key, value in (
            ("tenant_id", settings.m365_tenant_id),
            ("client_id", settings.m365_client_id),
        )
        if not value
    ]
    secret = environ.get(SECRET_ENV) or None
    redact.remember(secret)
    certificate = settings.m365_client_certificate
    if not secret and not certificate:
        missing.append(f"a credential: {SECRET_ENV}, or [m365] client_certificate")
    if certificate and not secret and not settings.m365_client_certificate_thumbprint:
        missing.append("[m365] client_certificate_thumbprint (the certificate's SHA-1, hex)")
    if missing:
        raise ConfigError(
            "fetch m365 needs "
            + "; ".join(missing)
            + f" in rse-adoption.toml, or a ready bearer token in {TOKEN_ENV} (docs/m365.md)"
        )
    if certificate and not secret and not Path(certificate).is_file():
        raise ConfigError(f"m365.client_certificate: {certificate}: no such file")
    return Credentials(
        graph_url,
        authority_url,
        tenant_id=settings.m365_tenant_id,
        client_id=settings.m365_client_id,
        secret=secret,
        certificate=None if secret else certificate,
        thumbprint=None if secret else settings.m365_client_certificate_thumbprint,
    )


def host_of(url: str) -> str:
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "?"
    return parsed.host + (f":{parsed.port}" if parsed.port else "")

"""A local HTTPS server that speaks the part of Microsoft's protocol `fetch m365` uses, for
the fetch tests (no test reaches the internet):

- Entra ID: `GET /{tenant}/v2.0/.well-known/openid-configuration` (msal's tenant discovery)
  and `POST /{tenant}/oauth2/v2.0/token` (client credentials: a secret, or a certificate's
  signed assertion), answering a bearer token or an OAuth2 error;
- Graph: `GET /v1.0/reports/getYammerActivityUserDetail(date=YYYY-MM-DD)` and
  `.../getTeamsUserActivityUserDetail(date=...)`, answering `302 Found` with a `Location`
  on this server, which serves the CSV (UTF-8 with a byte-order mark, the documented
  header) to a request without `Authorization`; 400 for a day outside the 28-day range;
  401 and 403 with Graph's error body; 429 and 503 with `Retry-After`; a 500;
- hostile and broken behaviour (issue 27): a 401 echoing the Authorization header it got,
  a token endpoint answering malformed JSON, a 302 to `http://`, a download that is a
  gzip bomb or corrupt gzip, a download body of any bytes.

Run with werkzeug through pytest-httpserver, over TLS with a throwaway certificate
authority (msal accepts only https authorities); clients trust it through SSL_CERT_FILE.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TENANT = "contoso-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
#: Headers of the one-day CSVs: the documented ones (Graph docs, v1.0, as of 2024).
VIVA_HEADER = (
    "Report Refresh Date,User Principal Name,Display Name,User State,State Change Date,"
    "Last Activity Date,Posted Count,Read Count,Liked Count,Assigned Products,Report Period"
)
TEAMS_HEADER = (
    "Report Refresh Date,Tenant Display Name,Shared Channel Tenant Display Names,User Id,"
    "User Principal Name,Last Activity Date,Is Deleted,Deleted Date,Assigned Products,"
    "Team Chat Message Count,Private Chat Message Count,Call Count,Meeting Count,"
    "Post Messages,Reply Messages,Urgent Messages,Meetings Organized Count,"
    "Meetings Attended Count,Ad Hoc Meetings Organized Count,Ad Hoc Meetings Attended Count,"
    "Scheduled One-time Meetings Organized Count,Scheduled One-time Meetings Attended Count,"
    "Scheduled Recurring Meetings Organized Count,Scheduled Recurring Meetings Attended Count,"
    "Audio Duration,Video Duration,Screen Share Duration,Audio Duration In Seconds,"
    "Video Duration In Seconds,Screen Share Duration In Seconds,Has Other Action,Is Licensed,"
    "Report Period"
)
FUNCTIONS = {
    "getYammerActivityUserDetail": "viva_engage",
    "getTeamsUserActivityUserDetail": "teams",
}
REPORT_PATH = re.compile(r"^/v1\.0/reports/(\w+)\((.*)\)$")


def people_of(report: str, day: dt.date) -> list[str]:
    """Who was active on `day` in `report`: a few people, varying by day (so that days differ)."""
    count = 3 + day.toordinal() % 4 + (2 if report == "teams" else 0)
    return [f"user{(day.toordinal() + i) % 11:02d}@contoso.example" for i in range(count)]


def csv_for(
    report: str,
    day: dt.date,
    refresh: dt.date,
    concealed: bool = False,
    written: dt.date | None = None,
) -> bytes:
    """The one-day CSV Microsoft would serve: one row per person active on `day`. Its
    `Report Refresh Date` is the latest date of the data (`refresh`), not `day` (unless
    `written` says what to write)."""
    lines = [VIVA_HEADER if report == "viva_engage" else TEAMS_HEADER]
    if day <= refresh:
        refresh = written or refresh
        for n, upn in enumerate(people_of(report, day)):
            user = f"{abs(hash(upn)) % 16**32:032X}" if concealed else upn
            if report == "viva_engage":
                lines.append(
                    f"{refresh},{user},Person {n},active,,{day},{n % 3},{n + 2},{n % 2},"
                    f"MICROSOFT 365 E5,1"
                )
            else:
                zeros = ",".join(["0"] * 8)
                uid = "00000000-0000-0000-0000-000000000000" if concealed else f"id-{n}"
                lines.append(
                    f"{refresh},Contoso,,{uid},{user},{day},False,,MICROSOFT 365 E5,"
                    f"{n % 2},{n + 1},0,1,{n % 2},{n % 3},0,{zeros},PT0S,PT0S,PT0S,0,0,0,"
                    f"{'Yes' if n % 2 else 'No'},Yes,1"
                )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


@dataclass
class FakeMicrosoft:
    """State and behaviour of the fake: what it serves and how it misbehaves."""

    url: str
    #: The first day outside the data (today, for Microsoft): the data ends the day before.
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    #: The latest date of the data (default: yesterday, data fully in).
    refresh: dt.date | None = None
    secret: str = "s3cr3t-Value~with.odd_chars"
    token: str = "eyJ0eXAiOiJKV1QiLCJub25jZSI6ImZha2UifQ.fake-access-token"
    #: Token endpoint: "ok", "refuse" (invalid_client, echoing what it received), "500",
    #: "malformed" (200 with a body that starts like JSON and breaks off), "bomb" (200,
    #: gzip-encoded, `bomb_bytes` once inflated).
    token_mode: str = "ok"
    #: Graph: "ok", "401", "403", "concealed", "echo401" (a gateway's 401 whose body echoes
    #: the Authorization header it received, and `echo_extra`), "malformed403" (a 403
    #: whose body starts with `{` and breaks off).
    graph_mode: str = "ok"
    echo_extra: str = ""
    #: The scheme of the 302's Location ("http" makes it a clear-text download URL).
    redirect_scheme: str = "https"
    #: The download: "csv" (the day's CSV), "bomb" (`bomb_bytes` zeros, gzip-encoded),
    #: "corrupt-gzip" (gzip-encoded, broken mid-stream), "body" (`download_body` as is).
    download_mode: str = "csv"
    bomb_bytes: int = 8 * 1024 * 1024
    download_body: bytes = b""
    #: Days (ISO) whose download the modes above apply to (empty: every day).
    fault_days: set[str] = field(default_factory=set)
    #: Days (ISO) when nobody was active: their CSV is the header alone.
    empty_days: set[str] = field(default_factory=set)
    #: Report requests to answer first with these statuses, in order (429, 503, 500...).
    failures: list[int] = field(default_factory=list)
    retry_after: str = "7"
    #: The docs do not say what a `date=` report's Report Refresh Date holds: True writes
    #: the day asked for instead of the latest date of the data.
    refresh_is_day: bool = False
    #: Seconds the download waits before answering (to kill a run mid-download).
    download_delay: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    assertions: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data_until(self) -> dt.date:
        return self.refresh or self.today - dt.timedelta(days=1)

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.log.append((request.method, request.path, dict(request.headers)))
        path = request.path
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            self.requests["discovery"] += 1
            base = f"{self.url}/{TENANT}"
            return _json(
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{self.url}/{TENANT}/v2.0",
                }
            )
        if path == f"/{TENANT}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        match = REPORT_PATH.match(path)
        if match:
            return self._report(request, match.group(1), match.group(2))
        if path.startswith("/download/"):
            return self._download(request, path.removeprefix("/download/"))
        return Response("not found", status=404)

    def _token(self, request: Request) -> Response:
        self.requests["token"] += 1
        form = parse_qs(request.get_data(as_text=True))
        sent = {k: v[0] for k, v in form.items()}
        if sent.get("grant_type") != "client_credentials" or sent.get("client_id") != CLIENT_ID:
            self.assertions.append(f"bad token request {sorted(sent)}")
        if not sent.get("scope", "").endswith("/.default"):
            self.assertions.append(f"scope {sent.get('scope')!r}")
        if self.token_mode == "500":
            return Response("sign-in is down", status=500)
        if self.token_mode == "malformed":
            return Response('{"token_type": "Bearer", "access_tok', status=200)
        if self.token_mode == "bomb":  # a few kB on the wire, `bomb_bytes` inflated
            return Response(
                _gzip_zeros(self.bomb_bytes),
                status=200,
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        by_secret = sent.get("client_secret") == self.secret
        by_certificate = (
            sent.get("client_assertion_type")
            == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            and sent.get("client_assertion", "").count(".") == 2
        )
        if self.token_mode != "ok" or not (by_secret or by_certificate):
            # A hostile or buggy server may echo what it got: nothing of it may leak.
            return _json(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided: "
                    f"{sent.get('client_secret')}\r\nTrace ID: 0000",
                },
                status=401,
            )
        return _json({"token_type": "Bearer", "expires_in": 3599, "access_token": self.token})

    def _report(self, request: Request, function: str, argument: str) -> Response:
        report = FUNCTIONS.get(function)
        self.requests[f"report:{report}"] += 1
        if self.graph_mode == "echo401":  # a gateway that says what it did not like
            echoed = request.headers.get("Authorization", "")
            return _graph_error(
                401,
                "InvalidAuthenticationToken",
                f"Access token rejected: Authorization: {echoed} (context {self.echo_extra})",
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _graph_error(
                401, "InvalidAuthenticationToken", "Access token validation failure."
            )
        if self.graph_mode == "401":
            return _graph_error(401, "InvalidAuthenticationToken", "Lifetime validation failed.")
        if self.graph_mode == "403":
            return _graph_error(403, "UnknownError", "")
        if self.graph_mode == "malformed403":
            return Response('{"error": {"code": "Forbidden", "mess', status=403)
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure in (429, 503):
            return Response("", status=failure, headers={"Retry-After": self.retry_after})
        if failure:
            return Response("upstream failed", status=failure)
        if not re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", argument) or report is None:
            self.assertions.append(f"request {function}({argument})")
            return _graph_error(400, "BadRequest", "Invalid function parameter")
        day = dt.date.fromisoformat(argument.removeprefix("date="))
        if not self.today - dt.timedelta(days=28) <= day < self.today:
            return _graph_error(400, "BadRequest", f"Invalid date: {day} is out of range")
        base = self.url.replace("https://", f"{self.redirect_scheme}://", 1)
        return Response("", status=302, headers={"Location": f"{base}/download/{report}/{day}"})

    def _download(self, request: Request, rest: str) -> Response:
        self.requests["download"] += 1
        if "Authorization" in request.headers:
            self.assertions.append("the bearer token was sent to the download URL")
        report, day = rest.split("/")
        if self.download_delay:
            time.sleep(self.download_delay)
        asked = dt.date.fromisoformat(day)
        if self.download_mode != "csv" and (not self.fault_days or day in self.fault_days):
            return self._faulty_download()
        if day in self.empty_days and asked <= self.data_until:
            header = VIVA_HEADER if report == "viva_engage" else TEAMS_HEADER
            return Response(f"\ufeff{header}\r\n".encode(), status=200)
        body = csv_for(
            report,
            asked,
            self.data_until,
            concealed=self.graph_mode == "concealed",
            written=asked if self.refresh_is_day else None,
        )
        return Response(body, status=200, content_type="application/octet-stream")

    def _faulty_download(self) -> Response:
        headers = {"Content-Type": "application/octet-stream"}
        if self.download_mode == "body":
            return Response(self.download_body, status=200, headers=headers)
        if self.download_mode == "bomb":  # a few kB on the wire, `bomb_bytes` inflated
            body = _gzip_zeros(self.bomb_bytes)
        else:  # corrupt gzip: a valid start, then bytes that do not inflate
            whole = gzip.compress(VIVA_HEADER.encode() * 200)
            body = whole[: len(whole) // 2] + b"\xff" * 64 + whole[len(whole) // 2 :]
        return Response(body, status=200, headers={**headers, "Content-Encoding": "gzip"})


def _gzip_zeros(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about a thousandth of it)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    body = b"".join(packer.compress(block) for _ in range(max(1, size // len(block))))
    return body + packer.flush()


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _graph_error(status: int, code: str, message: str) -> Response:
    return _json(
        {"error": {"code": code, "message": message, "innerError": {"request-id": "r"}}},
        status=status,
    )


def make_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway certificate authority and a server certificate for localhost and
    127.0.0.1 signed by it: (CA certificate, server certificate, server key), PEM."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rse-adoption test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def make_client_certificate(folder: Path) -> tuple[Path, str]:
    """An app's certificate credential: a PEM holding the private key and the certificate,
    and its SHA-1 thumbprint (hex), as the app registration shows it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rse-adoption fetch")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    path = folder / "app.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def start_server(folder: Path) -> tuple[HTTPServer, Path]:
    """A started TLS server on 127.0.0.1 (ask `url_for`), and the CA file to trust."""
    import ssl

    ca, cert, key = make_authority(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    return server, ca

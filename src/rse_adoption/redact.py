"""The credentials this process holds, and `scrub`, which removes them from any text.

Every credential is remembered here as soon as the process holds it: the secrets and
tokens of the environment (config.SECRET_KEYS' variables, read by `remember_environment`),
the client secret or signed client assertion msal sends, the access token msal obtains,
the Slack token. Every output of the CLI — standard error, `--log-file`, `--json` — passes
through `scrub` (cli/common.py, cli/fetch_commands.py), and so does every message the
fetchers build, so a server that echoes a credential (in an error body, say) cannot make
one leak, whichever part of the program repeats what it said.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

#: Shorter values are not credentials (and scrubbing them would mangle every message).
MIN_LENGTH = 8
MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()


def remember(value: object) -> None:
    """Hold `value` as a credential from now on (with its URL- and JSON-escaped forms,
    as a server may echo a form body or a JSON string)."""
    if not isinstance(value, str):
        return
    value = value.strip()
    if len(value) < MIN_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    scheme, _, credential = value.partition(" ")
    if scheme.lower() in ("bearer", "basic") and credential.strip():  # a header's value
        forms.add(credential.strip())
    with _lock:
        _secrets.update(f for f in forms if len(f) >= MIN_LENGTH)


def remember_environment(environ: Mapping[str, str] | None = None) -> None:
    """Remember every secret an `RSE_ADOPTION_*` variable of the environment holds (the
    vendors' secrets and tokens, and the pseudonymisation secret)."""
    from .config import SECRET_KEYS
    from .privacy import SECRET_ENV as PSEUDONYMISATION_SECRET_ENV

    env = os.environ if environ is None else environ
    for name in (*SECRET_KEYS.values(), PSEUDONYMISATION_SECRET_ENV):
        remember(env.get(name))


def scrub(text: str, extra: Iterable[str | None] = ()) -> str:
    """`text` with every credential held (and each of `extra`) replaced by MASK."""
    with _lock:
        values = set(_secrets)
    values.update(v for v in extra if v and len(v) >= MIN_LENGTH)
    # The longest first: a credential that contains another is masked whole.
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def forget_all() -> None:
    """Forget every credential (tests start from nothing)."""
    with _lock:
        _secrets.clear()

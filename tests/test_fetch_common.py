"""What both fetchers share (issue 27), checked on the Slack side: the host rule of the
configuration file, and the retry policy of fetch/retry.py as slack_api.py applies it
(Retry-After 0, throttling without end, a backoff that Slack never asked for). The
Microsoft 365 side of the same rules is in test_fetch_m365.py. No test waits: the
budget's clock and sleep are the test's."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rse_adoption.config import effective_settings
from rse_adoption.errors import ConfigError, ServiceUnavailableError
from rse_adoption.fetch import retry

from .conftest import Clock, Run, write
from .fake_slack import FakeSlack, serve

NOW = dt.datetime(2026, 10, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake(server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    return serve(server, monkeypatch, NOW)


def api(url: str, token: str, clock: Clock, minutes: float = 30) -> Any:
    from rse_adoption.fetch.slack_api import Budget, SlackApi

    return SlackApi(token, url, Budget(minutes, clock.monotonic, clock.sleep))


# --- The host rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://slack.evil.example/api/",
        "https://slack.com.evil.example/api/",
        "https://evil.example/slack.com/api/",
        "https://slack.com:8443/api/",
    ],
)
def test_a_configuration_file_cannot_send_the_slack_token_elsewhere(
    tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("RSE_ADOPTION_SLACK_TOKEN", "xoxb-" + "1" * 30)
    config = write(tmp_path / "rse-adoption.toml", f'[slack]\napi_url = "{url}"\n')
    result = cli("fetch", "slack", "--config", config)
    assert result.exit_code == 78
    assert "a configuration file may only name Slack's own hosts" in result.stderr
    assert "RSE_ADOPTION_SLACK_API_URL in the environment instead" in result.stderr


def test_slack_and_govslack_are_accepted_from_a_file_any_host_from_the_environment(
    tmp_path: Path,
) -> None:
    for url in ("https://slack.com/api/", "https://slack-gov.com/api/"):
        config = write(tmp_path / "c.toml", f'[slack]\napi_url = "{url}"\n')
        assert effective_settings(config=config, environ={})[0].slack_api_url == url
    config = write(tmp_path / "c.toml", '[slack]\napi_url = "https://proxy.corp.example/api/"\n')
    with pytest.raises(ConfigError):
        effective_settings(config=config, environ={})
    settings, sources = effective_settings(
        environ={"RSE_ADOPTION_SLACK_API_URL": "https://proxy.corp.example/api/"}
    )
    assert settings.slack_api_url == "https://proxy.corp.example/api/"
    assert sources["slack_api_url"] == "env RSE_ADOPTION_SLACK_API_URL"


# --- The retry policy, on Slack's side ---------------------------------------------------


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_slack_retry_after_zero_or_past_waits_the_growing_minimum(
    fake: FakeSlack, retry_after: str
) -> None:
    clock = Clock()
    fake.failures, fake.retry_after = [429, 429, 429], retry_after
    data = api(fake.url, fake.token, clock).call("conversations.list", types="public_channel")  # type: ignore[attr-defined]
    assert data["ok"] is True
    assert clock.waits == [1.0, 2.0, 4.0]


def test_slack_throttling_without_end_stops_after_a_bounded_number_of_tries(
    fake: FakeSlack,
) -> None:
    clock = Clock()
    fake.failures, fake.retry_after = [429] * 1000, "0"
    with pytest.raises(ServiceUnavailableError, match="kept throttling"):
        api(fake.url, fake.token, clock).call("conversations.list", types="public_channel")  # type: ignore[attr-defined]
    assert fake.requests["conversations.list"] == retry.THROTTLED_TRIES
    assert len(clock.waits) == retry.THROTTLED_TRIES - 1


def test_a_slack_backoff_past_the_budget_is_not_said_to_be_slacks_request() -> None:
    from rse_adoption.fetch.slack_api import OutOfTime

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = Clock()
    with pytest.raises(OutOfTime) as stopped:
        api(f"https://127.0.0.1:{port}/api/", "xoxb-" + "2" * 30, clock, minutes=0.4).call(
            "conversations.list"
        )
    assert stopped.value.asked is None  # Slack never answered: it asked nothing
    assert "unreachable or failing" in (stopped.value.why or "")
    assert clock.waits == [2.0, 4.0, 8.0]  # the fourth wait (16 s) would pass 24 s


# --- Credentials never shown --------------------------------------------------------------


def test_a_credential_is_masked_in_every_form_a_server_may_echo() -> None:
    import base64
    import json
    from urllib.parse import quote, quote_plus

    from rse_adoption import redact

    secret = 'p@ss w0rd/+"quoted"~long'
    redact.remember(secret)
    basic = base64.b64encode(f"client:{secret}".encode()).decode()
    redact.remember(f"Basic {basic}")
    redact.remember("short")  # not a credential: too short to mask without harm
    for echoed in (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)):
        assert redact.scrub(f"the server said: {echoed}!").count("***") == 1
    assert basic not in redact.scrub(f"Authorization: Basic {basic}")
    assert redact.scrub("a short word") == "a short word"

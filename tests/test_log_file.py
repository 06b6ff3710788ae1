"""--log-file (or $RSE_ADOPTION_LOG_FILE) on every command: standard error, time-stamped,
appended to a file; the messages still reach standard error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import write


def test_messages_and_errors_are_appended_to_the_log(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "rse.log"
    events = write(
        tmp_path / "e.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
    )
    ok = cli("ingest", events, "--log-file", log)
    assert ok.exit_code == 0 and "1 row added" in ok.stderr
    failed = cli("report", "--site", "Atlantis", "--log-file", log)
    assert failed.exit_code == 65
    lines = log.read_text(encoding="utf-8").splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(
        rf"{stamp} ingest: .*e\.csv: 1 new, 0 already stored, 0 quarantined", lines[0]
    )
    assert re.fullmatch(rf"{stamp} ingest: 1 file: 1 row added.*", lines[1])
    assert lines[-1].endswith(
        "report: rse-adoption: error: unknown site 'Atlantis'; closest known sites: (no site)"
    )


def test_the_log_file_can_come_from_the_environment(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "env.log"
    monkeypatch.setenv("RSE_ADOPTION_LOG_FILE", str(log))
    assert cli("status", "--data-dir", tmp_path / "missing").exit_code == 66
    assert "status: rse-adoption: error:" in log.read_text(encoding="utf-8")
    unwritable = cli("status", "--log-file", tmp_path / "no" / "such" / "dir.log")
    assert unwritable.exit_code == 73


def test_the_log_is_created_owner_only_and_never_shows_a_credential(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Issue 27, item 2: a new log is mode 0600, and any credential the process holds
    (here a token of the environment that happens to appear in a path) is masked on
    standard error and in the log alike."""
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOi-leaky"
    monkeypatch.setenv("RSE_ADOPTION_M365_TOKEN", token)
    log = tmp_path / "new.log"
    result = cli("status", "--data-dir", tmp_path / token, "--log-file", log)
    assert result.exit_code == 66
    assert log.stat().st_mode & 0o777 == 0o600
    logged = log.read_text(encoding="utf-8")
    assert token not in result.stderr and token not in logged
    assert "***" in result.stderr and "***" in logged

"""Shared helpers: a CLI runner that keeps stdout and stderr apart, and small file writers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from rse_adoption.cli import app

# Property tests draw the same examples on every run (CI must be deterministic); a local
# run can explore further with HYPOTHESIS_PROFILE=explore.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _no_retry_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetchers' retry waits carry random jitter (fetch/retry.py); tests see each
    wait's lower bound, so that they can state it exactly."""
    from rse_adoption.fetch import retry

    monkeypatch.setattr(retry, "jitter", lambda: 0.0, raising=False)


#: The real public exports of ../shared/samples (beside the project root), read in place.
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


class Clock:
    """A fetcher's time (tests replace its clock and sleep with these): `sleep` advances it and records each wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class Run:
    def __init__(self, result: Any) -> None:
        self.exit_code: int = result.exit_code
        self.stdout: str = result.stdout
        self.stderr: str = result.stderr
        self.exception = result.exception

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run the CLI in-process with the data dir defaulting to tmp_path/data."""
    monkeypatch.setenv("RSE_ADOPTION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RSE_ADOPTION_SECRET", raising=False)
    runner = CliRunner()

    def run(*args: str | Path) -> Run:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result)

    return run


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo organisation's exports, loaded into a store (once per test session)."""
    root = tmp_path_factory.mktemp("demo")
    data = root / "data"
    runner = CliRunner()
    for args in (
        ["demo", "--out", str(root / "exports")],
        ["directory", str(root / "exports" / "directory.csv"), "--data-dir", str(data)],
        ["ingest", str(root / "exports" / "events"), "--data-dir", str(data)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return {"root": root, "exports": root / "exports", "data": data}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """A local TLS server (fake_graph.start_server) for one test module's fetch tests: the
    fake Microsoft Graph, Viva Engage and Slack APIs are served on it."""
    from .fake_graph import start_server

    found = start_server(tmp_path_factory.mktemp("tls"))
    yield found
    found[0].stop()

"""`rse-adoption fetch SOURCE`: pull exports from a vendor's API, unattended, and ingest
them (one sub-command per source; docs/m365.md, docs/slack.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from ..fetch.graph import REPORTS  # not fetch.m365: `ingest` and `--help` need not load it
from .app import app
from .common import (
    ConfigOption,
    DataDirOption,
    DryRunOption,
    JsonOption,
    QuietOption,
    handle_errors,
    parse_day,
    stderr,
    store,
)

if TYPE_CHECKING:
    from ..api import Store
    from ..fetch.m365 import DayResult
    from ..fetch.slack import ChannelResult
    from ..fetch.slack_analytics import AnalyticsDay
    from ..fetch.viva_engage import RangeResult

fetch_app = typer.Typer(
    help="Pull exports from a vendor's API, unattended, and ingest them (docs/m365.md, "
    "docs/slack.md).",
    no_args_is_help=True,
)
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("m365")
@handle_errors
def fetch_m365(
    report: Annotated[
        list[str] | None,
        typer.Option(
            "--report",
            click_type=click.Choice(tuple(REPORTS)),
            help="Report to fetch (repeatable) [default: both].",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="First day to fetch, YYYY-MM-DD [default: 28 days ago, Microsoft's range].",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Last day to fetch, YYYY-MM-DD [default: yesterday].",
            show_default=False,
        ),
    ] = None,
    max_minutes: Annotated[
        float,
        typer.Option(
            "--max-minutes",
            min=0.01,
            help="Run budget: stop waiting on Microsoft's throttling after this long, keep "
            "what was fetched, exit 75.",
        ),
    ] = 30,
    keep_raw: Annotated[
        Path | None,
        typer.Option(
            "--keep-raw",
            help="Also save the downloaded CSVs in this folder, outside the store, for audit "
            "(they name people: personal data; never read back unless ingested by hand).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch the daily per-person Viva Engage and Teams activity detail from Microsoft
    Graph for every day of the last 28 that the store lacks, and ingest each day.

    App-only authentication: [m365] tenant_id and client_id in rse-adoption.toml with the
    secret in $RSE_ADOPTION_M365_CLIENT_SECRET (or a certificate), or a bearer token in
    $RSE_ADOPTION_M365_TOKEN. A day Microsoft refuses is reported and skipped.
    Exit codes: 0 done, 65 concealed user names (nothing stored) or an unreadable report,
    75 Microsoft unreachable or throttling past --max-minutes (what was fetched is kept),
    77 credentials or the Reports.Read.All permission refused, 78 configuration missing.
    """
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    err = stderr()
    show = not quiet and not as_json
    library = store(data_dir, config)
    if not quiet:
        from ..fetch.graph import TOKEN_ENV

        signs_in = not os.environ.get(TOKEN_ENV)
        _say_hosts(library, ["m365_graph_url", *(["m365_authority_url"] if signs_in else [])])

    def on_day(result: DayResult) -> None:
        if not show:
            return
        where = f"{result.report} {result.day}"
        if result.status == "fetched":
            err.print(f"✔ {where}: {result.rows} rows (data of {result.refresh_date})")
            if result.message:
                err.print(f"  note: {result.message}", style="yellow", highlight=False)
        elif result.status == "unchanged":
            err.print(f"= {where}: unchanged", style="dim")
        elif result.status in ("skipped", "refused"):
            err.print(f"- {where}: {result.status}: {result.message}", style="yellow")

    summary = library.fetch_m365(
        reports=report or None,
        since=first,
        until=last,
        dry_run=dry_run,
        keep_raw=keep_raw,
        max_minutes=max_minutes,
        on_day=on_day,
    )
    _finish(
        summary,
        [f.message or "" for f in summary.days if f.status == "error"],
        f"{summary.first_day} to {summary.last_day}: {summary.count('fetched')} days "
        f"fetched, {summary.count('unchanged')} unchanged, {summary.count('skipped')} "
        f"not available yet, {summary.count('refused')} refused."
        + (" Dry run: nothing was stored." if dry_run else ""),
        as_json=as_json,
        show=show,
    )


@fetch_app.command("slack")
@handle_errors
def fetch_slack(
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            help="Public channel to fetch, by name (repeatable) [default: every channel the "
            "app can read].",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Read no message older than this day, YYYY-MM-DD, now and in later runs "
            "(the channel's floor, until a later --since) [default: all the history Slack "
            "lets the app read, then what is new and 90 days of threads].",
            show_default=False,
        ),
    ] = None,
    max_minutes: Annotated[
        float,
        typer.Option(
            "--max-minutes",
            min=0.01,
            help="Run budget: stop after this long (waits on Slack's throttling included), "
            "keep every channel committed, exit 75; the next run goes on from there.",
        ),
    ] = 30,
    analytics: Annotated[
        bool,
        typer.Option(
            "--analytics",
            help="Fetch the workspace's member analytics instead of its messages: every day "
            "of Slack's 13 months the store lacks (admin.analytics.getFile; user token in "
            "$RSE_ADOPTION_SLACK_ADMIN_TOKEN), who read, posted and reacted each day. "
            "--since bounds the days.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch the new messages of a Slack workspace's public channels through the Web API
    and ingest them as its export would be: who posted, replied and reacted, when and
    where (never the text).

    The app's Bot User OAuth Token comes from $RSE_ADOPTION_SLACK_TOKEN (never a file);
    [slack] api_url and lookback_days in rse-adoption.toml. Each channel is committed
    whole; a second run reads what is new and the threads of the report window (90 days
    at least) whose latest reply moved. Exit codes: 0 done, 65 a channel's messages
    unreadable or its id or name malformed, 75 Slack unreachable, throttling, an answer
    that is not JSON or the run's budget spent (what was fetched is kept), 77 the token
    refused or a scope missing (the message names it), 78 no token.

    With --analytics: Slack's member analytics instead, one day per request, each day
    stored as a one-day activity period (readers and visitors); exit 69 when the workspace
    cannot give them (plan, member analytics off, e-mails hidden), 77 the token refused or
    admin.analytics:read missing.
    """
    first = parse_day(since, "--since")
    err = stderr()
    show = not quiet and not as_json
    if analytics and channel:
        raise typer.BadParameter(
            "--channel reads messages; --analytics reads the whole workspace's member "
            "analytics: run them apart",
            param_hint="--channel",
        )
    library = store(data_dir, config)
    if not quiet:
        _say_hosts(library, ["slack_api_url"])
    if analytics:
        _fetch_slack_analytics(library, first, max_minutes, dry_run, as_json=as_json, show=show)
        return

    def on_channel(result: ChannelResult) -> None:
        if not show:
            return
        where = f"#{result.channel}"
        if result.status == "fetched":
            err.print(
                f"✔ {where}: {result.new_messages} new message(s), {result.events} event(s) "
                f"added (last message {result.last_message})"
            )
            if result.message:
                err.print(f"  note: {result.message}", style="yellow", highlight=False)
        elif result.status == "unchanged":
            err.print(f"= {where}: nothing new", style="dim")
        elif result.status == "skipped":
            err.print(f"- {where}: skipped: {result.message}", style="yellow", highlight=False)

    summary = library.fetch_slack(
        channels=channel or None,
        since=first,
        dry_run=dry_run,
        max_minutes=max_minutes,
        on_channel=on_channel,
    )
    _finish(
        summary,
        [f"#{c.channel}: {c.message}" for c in summary.channels if c.status == "error"],
        f"{summary.count('fetched')} channel(s) fetched, {summary.count('unchanged')} "
        f"unchanged, {summary.count('skipped')} skipped; "
        f"{sum(c.events for c in summary.channels)} event(s) added."
        + (" Dry run: nothing was stored." if dry_run else ""),
        as_json=as_json,
        show=show,
    )


def _fetch_slack_analytics(
    library: Store, since: Any, max_minutes: float, dry_run: bool, *, as_json: bool, show: bool
) -> None:
    """`fetch slack --analytics`: each day's line, then the totals."""
    err = stderr()

    def on_day(result: AnalyticsDay) -> None:
        if not show:
            return
        if result.status == "fetched":
            err.print(f"✔ {result.day}: {result.rows} member(s)")
            if result.message:
                err.print(f"  note: {result.message}", style="yellow", highlight=False)
        elif result.status == "skipped":
            err.print(f"- {result.day}: skipped: {result.message}", style="dim", highlight=False)

    summary = library.fetch_slack_analytics(
        since=since, dry_run=dry_run, max_minutes=max_minutes, on_day=on_day
    )
    _finish(
        summary,
        [f"{d.day}: {d.message}" for d in summary.days if d.status == "error"],
        f"member analytics {summary.first_day} to {summary.last_day}: "
        f"{summary.count('fetched')} day(s) fetched, {summary.count('skipped')} skipped."
        + (" Dry run: nothing was stored." if dry_run else ""),
        as_json=as_json,
        show=show,
    )


@fetch_app.command("viva-engage")
@handle_errors
def fetch_viva_engage(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Fetch from this day, YYYY-MM-DD (00:00 UTC) [default: where the last run "
            "ended, less an hour; on a first run, the report window].",
            show_default=False,
        ),
    ] = None,
    max_minutes: Annotated[
        float,
        typer.Option(
            "--max-minutes",
            min=0.01,
            help="Run budget: stop after this long (waits on throttling included), keep "
            "every range committed, exit 75; the next run goes on from there.",
        ),
    ] = 30,
    login: Annotated[
        bool,
        typer.Option(
            "--login",
            help="Sign in once as a Viva Engage Verified Administrator (device code: open "
            "the URL shown, enter the code) and save the refreshable tokens, owner-only, in "
            "[viva_engage] token_cache; fetch nothing.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch the Viva Engage network data export (messages, users, groups: who answered
    whom, where) from the end of the last range fetched, range by range, and ingest it
    with the Yammer export reader; never the message bodies.

    Delegated sign-in: [viva_engage] tenant_id and client_id (else [m365]'s) of an app
    registration with the Yammer permission access_as_user; a Verified Administrator runs
    --login once, later runs renew the token silently; or a ready token in
    $RSE_ADOPTION_VIVA_ENGAGE_TOKEN. Exit codes: 0 done, 65 an export unreadable (nothing
    of its range stored), 75 Viva Engage unreachable or throttling past --max-minutes
    (what was fetched is kept), 77 the token refused or the account not a Verified
    Administrator, 78 no sign-in or configuration missing.
    """
    first = parse_day(since, "--since")
    err = stderr()
    show = not quiet and not as_json
    library = store(data_dir, config)
    if not quiet:
        from ..fetch.viva_engage_auth import TOKEN_ENV

        signs_in = login or not os.environ.get(TOKEN_ENV)
        _say_hosts(library, ["viva_engage_api_url", *(["m365_authority_url"] if signs_in else [])])
    if login:
        who = library.login_viva_engage(lambda text: err.print(text, highlight=False))
        if as_json:
            sys.stdout.write(json.dumps({"signed_in": who}, ensure_ascii=False) + "\n")
        elif not quiet:
            err.print(f"signed in as {who}; later runs renew the token silently")
        return

    def on_range(result: RangeResult) -> None:
        if not show:
            return
        if result.status == "fetched":
            err.print(
                f"✔ {result.since} to {result.until}: {result.messages} message(s), "
                f"{result.events} event(s) added"
            )
            if result.message:
                err.print(f"  note: {result.message}", style="yellow", highlight=False)

    summary = library.fetch_viva_engage(
        since=first, dry_run=dry_run, max_minutes=max_minutes, on_range=on_range
    )
    _finish(
        summary,
        [],
        f"{summary.since} to {summary.until}: {summary.count('fetched')} range(s) fetched, "
        f"{sum(r.events for r in summary.ranges)} event(s) added."
        + (" Dry run: nothing was stored." if dry_run else ""),
        as_json=as_json,
        show=show,
    )


def _say_hosts(library: Store, fields: list[str]) -> None:
    """One line on standard error: the host each credential goes to, and where that host
    was set (default, the configuration file, the environment, a flag); a host that is
    not the vendor's own is said to be so (docs/m365.md, docs/slack.md: host rules)."""
    from ..config import VENDOR_HOSTS, is_vendor_host, url_host

    sources = library.sources()
    parts = []
    for field in fields:
        vendor = VENDOR_HOSTS[field][0]
        url = getattr(library.settings, field)
        own = "" if is_vendor_host(field, url) else f"; not one of {vendor}'s own hosts"
        parts.append(f"{vendor} at {url_host(url)} ({sources.get(field, 'default')}{own})")
    stderr().print("using " + ", ".join(parts), style="dim", highlight=False, soft_wrap=True)


def _finish(summary: Any, errors: list[str], totals: str, *, as_json: bool, show: bool) -> None:
    """The end of every fetch: each item that failed on standard error, the summary as
    JSON or as one line of totals, and the exit code of what ended the run early."""
    from .. import redact

    for message in errors:
        print(f"rse-adoption: error: {message}", file=sys.stderr)
    if as_json:  # standard error is scrubbed by handle_errors; this is standard output
        sys.stdout.write(redact.scrub(json.dumps(summary.to_dict(), ensure_ascii=False)) + "\n")
    elif show:
        stderr().print(totals)
    if summary.error is not None:
        raise summary.error
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)

"""Fetchers: one module per vendor API, each downloading exports unattended and handing the
files to the same readers and pipeline as `ingest` (ingest/__init__.py), so detection,
quarantine, pseudonymisation and idempotence are those of a file ingested by hand.

- `m365` (with `graph`, the Graph client): Microsoft Graph usage reports, the daily
  per-person Viva Engage and Teams activity detail (`rse-adoption fetch m365`,
  docs/m365.md).
- `viva_engage` (with `viva_engage_auth`, the delegated sign-in and its token cache):
  the Viva Engage network data export, range by range, read by the Yammer export reader
  (`rse-adoption fetch viva-engage`, docs/m365.md).
- `slack` (with `slack_api`, the Web API client): a workspace's public channels, read
  incrementally and ingested by the Slack export reader (`rse-adoption fetch slack`,
  docs/slack.md); `slack_analytics`, the workspace's member analytics day by day, each
  day a one-day activity period (`rse-adoption fetch slack --analytics`).
- `retry` (how long a throttled answer asks to wait) and `scratch` (the private download
  folder inside the store): what the fetchers share.

A fetcher keeps nothing raw by default (responses name people): what it fetched is
recorded in the store's ledger (report, day, refresh date, rows, SHA-256; for Slack, the
channel and its newest message stored, where the next run starts).
"""

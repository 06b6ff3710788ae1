"""Fetchers: one module per vendor API, each downloading exports unattended and handing the
files to the same readers and pipeline as `ingest` (ingest/__init__.py), so detection,
quarantine, pseudonymisation and idempotence are those of a file ingested by hand.

- `m365`: Microsoft Graph usage reports, the daily per-person Viva Engage and Teams
  activity detail (`rse-adoption fetch m365`, docs/m365.md).

A fetcher keeps nothing raw by default (responses name people): what it fetched is
recorded in the store's ledger (report, day, refresh date, rows, SHA-256).
"""

"""Errors a user can act on, each with the exit code the CLI returns for it.

Exit codes follow sysexits.h so that cron wrappers can tell "retry later" from "fix the
data"; docs/operations.md repeats the table.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DATA = 65  # EX_DATAERR: the input is not what it should be
EXIT_NO_INPUT = 66  # EX_NOINPUT: a path does not exist or is not readable
#: EX_UNAVAILABLE: a vendor's service cannot give the data at all (a plan or an org policy).
EXIT_UNAVAILABLE = 69
EXIT_CANT_CREATE = 73  # EX_CANTCREAT: an output cannot be written
EXIT_IO = 74  # EX_IOERR
EXIT_BUSY = 75  # EX_TEMPFAIL: the store is locked by another run; retry later
#: EX_TEMPFAIL too: a vendor's service is unreachable or keeps throttling; retry later.
EXIT_TEMPFAIL = 75
EXIT_NOPERM = 77  # EX_NOPERM: a vendor refused the credentials or the permission
EXIT_CONFIG = 78  # EX_CONFIG
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class RseError(Exception):
    """An error with a one-line message for people and an exit code for scripts."""

    exit_code = EXIT_DATA

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DataError(RseError):
    """Input data that cannot be used (unreadable file, bad directory row...)."""

    exit_code = EXIT_DATA


class NoInputError(RseError, FileNotFoundError):
    """A path given by the user does not exist or cannot be opened (a FileNotFoundError
    too, for Python callers)."""

    exit_code = EXIT_NO_INPUT


class StoreBusyError(RseError):
    """Another process holds the store's write lock."""

    exit_code = EXIT_BUSY


class OutputError(RseError):
    """An output file or folder cannot be created."""

    exit_code = EXIT_CANT_CREATE


class StoreIOError(RseError):
    """Reading or writing the store failed at the operating-system level (disk full...)."""

    exit_code = EXIT_IO


class ConfigError(RseError):
    """An invalid setting. `fields` names the Settings fields involved, so that the message
    can say where each came from. Exit 78, or 2 when a value typed on the command line
    is involved (a usage error)."""

    exit_code = EXIT_CONFIG

    def __init__(
        self, message: str, fields: tuple[str, ...] = (), exit_code: int | None = None
    ) -> None:
        super().__init__(message, exit_code)
        self.fields = fields


class AccessDeniedError(RseError):
    """A vendor's API refused the credentials, the token or the permission (exit 77)."""

    exit_code = EXIT_NOPERM


class ServiceUnavailableError(RseError):
    """A vendor's API is unreachable, or kept throttling past the run's time budget: what
    was fetched before is committed; run again later (exit 75)."""

    exit_code = EXIT_TEMPFAIL


class FeatureUnavailableError(RseError):
    """A vendor's service cannot give the data at all, whatever the credentials: the plan
    lacks the feature, or an organisation policy turns it off (exit 69); the message says
    which and who can change it."""

    exit_code = EXIT_UNAVAILABLE


class ConcealedNamesError(DataError):
    """A fetched Microsoft 365 report hides user names: nothing of it is stored (exit 65)."""

"""The Spark engine: the metrics' DuckDB SQL, translated by sqlglot, run by PySpark.

`connect()` returns a SparkConnection, which offers what metrics/engine.py's Connection
asks: `execute(sql, parameters).fetchall()`. Each statement is parsed as DuckDB SQL and
rewritten before sqlglot writes it as Spark SQL:
- `$name` parameters become literals (Spark SQL has no list parameters);
- `read_parquet(files)` becomes a temporary view over `spark.read.parquet(files)`;
- `epoch_us(ts)` becomes `unix_micros(ts)` (sqlglot leaves it as it is);
- `CREATE [OR REPLACE] TEMP TABLE name AS query` runs the query, keeps its result
  (`localCheckpoint`: computed once, like DuckDB's temp table, however often it is read)
  and names it with a temporary view.
Dates are UTC dates (`spark.sql.session.timeZone`), as in DuckDB (metrics/segments.py).
The session is shared by every connection of the process (starting Spark costs seconds),
one report at a time: the metrics' tables have fixed names (`people`, `person_weeks`...), so
two connections used at once would overwrite each other's. A connection drops its views on
close.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlglot
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from sqlglot import exp

from ..errors import EXIT_IO, ConfigError, RseError

# PySpark warns about pandas versions for its pandas API, which the metrics do not use.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
#: Spark's log configuration in local mode: errors only.
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

#: Local mode's driver (and executor) memory unless SPARK_DRIVER_MEMORY says otherwise.
LOCAL_DRIVER_MEMORY = "4g"


class SparkRows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


def session(master: str | None = None, remote: str | None = None) -> SparkSession:
    """The process's Spark session: Spark Connect when `remote` is given (`sc://host:port`,
    or `local` for a Connect server in this process), else the classic `master` (default
    `local[*]`; it wins over a SPARK_REMOTE of the environment, as a flag wins over the
    environment everywhere else); UTC dates, no UI, no console progress bars, errors-only
    logs locally. A session that cannot start is a ConfigError (exit 78)."""
    local = not remote and (master is None or master.startswith("local"))
    if remote and remote.startswith("sc://"):
        _check_reachable(remote)
    try:
        spark = _builder(master, remote, local).getOrCreate()
    except Exception as failure:  # Java missing, master unreachable: the JVM says why
        where = f"Spark Connect at {remote}" if remote else (master or "local mode")
        hint = " (local mode needs a Java 17+ runtime: JAVA_HOME or java on PATH)" if local else ""
        raise ConfigError(f"cannot start Spark ({where}): {_first_line(failure)}{hint}") from None
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


#: Seconds to wait for a Spark Connect server to accept a connection: PySpark's own client
#: retries for minutes, which under cron looks like a hang.
CONNECT_TIMEOUT = 10.0


def _check_reachable(remote: str) -> None:
    """A ConfigError unless the Spark Connect server of `remote` (sc://host:port/;params,
    port 15002 by default) accepts a TCP connection within CONNECT_TIMEOUT."""
    url = urlsplit(remote.split(";", 1)[0])
    host, port = url.hostname or "localhost", url.port or 15002
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as failure:
        raise ConfigError(
            f"cannot reach Spark Connect at {host}:{port} ({remote}): {failure.strerror or failure}"
        ) from None


def _builder(master: str | None, remote: str | None, local: bool) -> SparkSession.Builder:
    builder = SparkSession.builder.appName("rse-adoption")
    if remote:
        builder = builder.remote(remote)
        if not remote.startswith("sc://"):  # a Connect server this process starts
            builder = builder.config("spark.ui.enabled", "false")
            builder = builder.config("spark.ui.showConsoleProgress", "false")
    else:
        os.environ.pop("SPARK_REMOTE", None)  # PySpark would refuse a master beside it
        builder = builder.master(master or "local[*]").config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    if local:
        # few, small shuffles: Spark's 200 default partitions cost more than they do
        cores = os.cpu_count() or 2
        builder = builder.config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
        )
        if "SPARK_DRIVER_MEMORY" not in os.environ:
            builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    return builder.config("spark.sql.session.timeZone", "UTC")


def connect(
    master: str | None = None, remote_from_environment: str | None = None
) -> SparkConnection:
    """A connection to `master`: a Spark Connect URL (`sc://host:port`) or a classic master
    (`local[4]`, `spark://host:7077`, `yarn`); without one, to `remote_from_environment`
    (SPARK_REMOTE: Spark Connect), else local mode (see session)."""
    if master and master.startswith("sc://"):
        return SparkConnection(session(remote=master))
    if master:
        return SparkConnection(session(master=master))
    return SparkConnection(session(remote=remote_from_environment or None))


class SparkConnection:
    """Runs the metrics' statements on a Spark session (module docstring)."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._file_views: dict[tuple[str, ...], str] = {}
        self._tables: set[str] = set()
        self._prefix = f"rse_{id(self):x}_"

    def execute(self, query: str, parameters: Any = None) -> SparkRows:
        """Run every statement of `query`; the rows of the last one."""
        rows: list[tuple[Any, ...]] = []
        for statement in sqlglot.parse(query, read="duckdb"):
            if isinstance(statement, exp.Expression):
                try:
                    rows = self._run(statement, dict(parameters or {}))
                except (PySparkException, Py4JError) as failure:  # lost cluster, bad file...
                    raise RseError(f"Spark failed: {_first_line(failure)}", EXIT_IO) from None
        return SparkRows(rows)

    def close(self) -> None:
        for name in [*self._tables, *self._file_views.values()]:
            self.spark.catalog.dropTempView(name)
        self._tables.clear()
        self._file_views.clear()

    def _run(self, statement: exp.Expression, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        statement = statement.transform(lambda node: self._rewrite(node, parameters), copy=True)
        if isinstance(statement, exp.Create):
            if not isinstance(statement.expression, exp.Query):
                raise ValueError(f"only CREATE ... AS query runs on Spark: {statement.sql()}")
            name = statement.this.name
            frame = self.spark.sql(statement.expression.sql(dialect="spark")).localCheckpoint()
            frame.createOrReplaceTempView(name)
            self._tables.add(name)
            return []
        return [tuple(row) for row in self.spark.sql(statement.sql(dialect="spark")).collect()]

    def _rewrite(self, node: exp.Expression, parameters: dict[str, Any]) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.ReadParquet):
            files = _files(node.this.expressions, parameters)
            table = exp.to_table(self._file_view(files))
            alias = node.args.get("alias")
            if alias is not None:
                table.set("alias", alias.copy())
            return table
        if isinstance(node, exp.Placeholder):
            if node.name not in parameters:
                raise KeyError(f"no value for parameter ${node.name}")
            return _literal(parameters[node.name])
        if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
            node.set("this", "unix_micros")  # the same node: its arguments are rewritten too
        return node

    def _file_view(self, files: Sequence[str]) -> str:
        """A temporary view over the Parquet `files`, one per set of files."""
        key = tuple(files)
        if key not in self._file_views:
            name = f"{self._prefix}files_{len(self._file_views)}"
            self.spark.read.parquet(*key).createOrReplaceTempView(name)
            self._file_views[key] = name
        return self._file_views[key]


def _first_line(failure: Exception) -> str:
    """What went wrong, in one line: the Java exception's own message when there is one
    (Py4J's says only which call failed)."""
    java = getattr(failure, "java_exception", None)
    text = str(java.toString()) if java is not None else str(failure)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(failure).__name__


def _files(arguments: Iterable[exp.Expression], parameters: dict[str, Any]) -> list[str]:
    """The absolute paths a `read_parquet(...)` names (a parameter, a string or a list)."""
    files: list[str] = []
    for argument in arguments:
        if isinstance(argument, exp.Placeholder):
            value = parameters[argument.name]
            files.extend([str(value)] if isinstance(value, str | Path) else map(str, value))
        elif isinstance(argument, exp.Literal):
            files.append(argument.name)
        elif isinstance(argument, exp.Array):
            files.extend(item.name for item in argument.expressions)
    return [str(Path(f).resolve()) for f in files]


def _literal(value: Any) -> exp.Expression:
    """A Python parameter as a Spark SQL literal."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, date):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, str | Path):
        return exp.Literal.string(str(value))
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise TypeError(f"cannot pass {type(value).__name__} to Spark SQL")

"""Which query engine runs the metrics: DuckDB, embedded (the default), or Apache Spark.

The metrics are written once, as DuckDB SQL with `$name` parameters and `read_parquet($files)`
over the store's files, and run through the one method both engines offer here:
`execute(sql, parameters).fetchall()`. DuckDB runs them as they are; the Spark engine
(metrics/spark.py, the `spark` extra) translates each statement to Spark SQL with sqlglot
and runs it through PySpark, locally or on a cluster (docs/scale.md). The SQL therefore
keeps to what both engines mean the same way: no UPDATE or INSERT (tables are recreated
with `CREATE OR REPLACE TEMP TABLE ... AS SELECT`), no subquery inside a SELECT list, and
no function sqlglot does not translate (the Spark engine maps the few it lacks).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import duckdb

from ..config import ENGINES
from ..errors import ConfigError

__all__ = ["ENGINES", "Connection", "Rows", "connect", "connect_duckdb"]


class Rows(Protocol):
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the metrics need of an engine: run one or more SQL statements (DuckDB dialect,
    `$name` parameters) and fetch the last one's rows as tuples."""

    def execute(self, query: str, parameters: Any = None) -> Rows: ...

    def close(self) -> None: ...


def connect_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose dates are UTC dates (the window is in UTC)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    return con


def connect(engine: str = "duckdb", spark_master: str | None = None) -> Connection:
    """A connection of `engine` ("duckdb" or "spark"). For Spark, `spark_master` is a master
    URL (`local[4]`, `spark://host:7077`, `yarn`) or a Spark Connect URL (`sc://host:15002`);
    without it, the SPARK_REMOTE environment variable (Spark Connect), else local mode with
    every core. Raises ConfigError for an unknown engine or when PySpark is missing."""
    if engine == "duckdb":
        return connect_duckdb()
    if engine != "spark":
        raise ConfigError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    try:
        from . import spark
    except ImportError as missing:
        raise ConfigError(
            f"the spark engine needs PySpark and sqlglot ({missing.name} is missing): "
            "pip install 'rse-adoption[spark]'"
        ) from None
    return spark.connect(spark_master, os.environ.get("SPARK_REMOTE"))

"""A Spark session for `engine: spark`: a local one (`master: local[*]`) or Spark Connect (`remote: sc://...`).

PySpark is imported here, when a Spark project opens, never at start-up. The
session's time zone is the project's reporting zone (timestamps with an offset
are converted to it, naive ones are taken as already in it, as on DuckDB), the
SQL is ANSI (an overflow or a division by zero is an error, never a wrapped
or silently empty value), and nothing is downloaded when it starts (settings
that would fetch packages are refused by the config). A local session binds to
the loopback address and has no web UI.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from pipeline.config import ProjectConfig
from pipeline.core.errors import ConfigError, WorkdirError

LOG4J = Path(__file__).with_name("spark_log4j2.properties")  # warnings and errors only, on stderr
SPARK_HINT = "see docs/spark.md 'Configuring the engine'"


def spark_modules():
    """`pyspark.sql` (and with it PySpark), or a clear error when the spark extra is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas-version notices of PySpark's own imports
            import pyspark.sql as sql
    except ImportError:
        raise ConfigError("config/pulse.yaml: engine: spark needs PySpark, which is not installed",
                          "install Pulse with its spark extra (pip install 'pulse-reports[spark]'); " + SPARK_HINT
                          ) from None
    return sql


def session_conf(config: ProjectConfig) -> dict[str, str]:
    """The settings a session starts with: Pulse's own, then the project's `engine.conf` (which win)."""
    engine = config.engine
    conf = {
        "spark.sql.session.timeZone": config.project.timezone,
        "spark.sql.ansi.enabled": "true",
        "spark.sql.caseSensitive": "false",
        # a declared encoding may be any Java charset (windows-1252, ...), not only Spark 4's few defaults
        "spark.sql.legacy.javaCharsets": "true",
    }
    if not engine.remote:
        local = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            # a few dozen periods and sources of a reporting project: no need for 200 shuffle partitions
            "spark.sql.shuffle.partitions": str(max(2, 2 * (os.cpu_count() or 1))),
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J.as_uri()}",
            "spark.local.dir": str(config.workdir / "spark-tmp"),
            "spark.sql.warehouse.dir": str(config.workdir / "spark-warehouse"),
        }
        if config.project.memory_limit:
            local["spark.driver.memory"] = f"{java_megabytes(config.project.memory_limit)}m"
        conf.update(local)
    conf.update({key: str(value).lower() if isinstance(value, bool) else str(value)
                 for key, value in engine.conf.items()})
    return conf


UNITS = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def java_megabytes(size: str) -> int:
    """`memory_limit` ("1.5GB", "512 MiB") as whole mebibytes, as Java's -Xmx takes them."""
    number, unit = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*", size, re.I).groups()
    return max(1, int(float(number) * UNITS[unit.upper()] / 2**20))


def open_session(config: ProjectConfig):
    """Start (or reuse) the project's Spark session and apply its settings."""
    sql = spark_modules()
    engine = config.engine
    conf = session_conf(config)
    builder = sql.SparkSession.builder.appName(engine.app_name)
    try:
        if engine.remote:
            builder = builder.remote(engine.remote)
            spark = builder.getOrCreate()
            for key, value in conf.items():  # Spark Connect: session settings after connecting
                spark.conf.set(key, value)
        else:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            config.workdir.mkdir(parents=True, exist_ok=True)
            builder = builder.master(engine.master or "local[*]")
            for key, value in conf.items():
                builder = builder.config(key, value)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spark = builder.getOrCreate()
            for key in ("spark.sql.session.timeZone", "spark.sql.ansi.enabled", "spark.sql.shuffle.partitions",
                        "spark.sql.legacy.javaCharsets"):
                spark.conf.set(key, conf[key])  # a session reused from earlier in this process
    except ConfigError:
        raise
    except Exception as exc:  # py4j, grpc and Spark raise their own types
        where = f"Spark Connect at {engine.remote}" if engine.remote else f"a local Spark session ({engine.master})"
        raise WorkdirError(f"config/pulse.yaml: engine: cannot start {where}: {first_line(exc)}",
                           "check that Java 17+ is installed (local) or that the server is reachable (remote); "
                           + SPARK_HINT) from None
    return spark


def first_line(exc: BaseException) -> str:
    """A Spark error's first meaningful line, without the JVM stack trace."""
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("JVM stacktrace", "at ", "Traceback")):
            return line[:400]
    return type(exc).__name__


def is_uri(pattern: str) -> bool:
    """A storage URI Spark reads (s3a://, abfss://, gs://, hdfs://, file://), not a path in the project."""
    head, sep, _ = pattern.partition("://")
    return bool(sep) and head.isalnum() and len(head) > 1

"""`engine:` in config/pulse.yaml (pipeline.config.settings.EngineSettings) and the Spark session's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import load_project
from pipeline.core.errors import ConfigError
from pipeline.sources.spark_session import is_uri, java_megabytes, session_conf
from support.messy import make


def project(tmp_path: Path, engine) -> Path:
    root = make(tmp_path, {"data/a.csv": "id\n1\n"})
    settings = yaml.safe_load((root / "config" / "pulse.yaml").read_text())
    settings["engine"] = engine
    (root / "config" / "pulse.yaml").write_text(yaml.safe_dump(settings))
    return root


def test_duckdb_is_the_default(tmp_path):
    root = make(tmp_path, {"data/a.csv": "id\n1\n"})
    assert load_project(root).engine.name == "duckdb"


def test_the_shorthand_and_the_block(tmp_path):
    assert load_project(project(tmp_path / "a", "spark")).engine.name == "spark"
    engine = load_project(project(tmp_path / "b", {"name": "spark", "remote": "sc://spark.example.com:15002"})).engine
    assert engine.remote == "sc://spark.example.com:15002" and engine.master is None


@pytest.mark.parametrize("engine, message", [
    ({"name": "spark", "master": "local[2]", "remote": "sc://h:15002"}, "either master"),
    ({"name": "duckdb", "master": "local[2]"}, "set name: spark"),
    ({"name": "spark", "conf": {"spark.jars.packages": "org.apache.hadoop:hadoop-aws:3.4.1"}}, "would download"),
    ({"name": "spark", "remote": "http://h:15002"}, "engine.remote"),
    ({"name": "postgres"}, "engine.name"),
])
def test_wrong_engine_settings_name_the_key(tmp_path, engine, message):
    with pytest.raises(ConfigError) as raised:
        load_project(project(tmp_path, engine))
    assert message in raised.value.one_line() and "pulse.yaml" in raised.value.one_line()


def test_the_session_runs_in_the_project_zone_with_ansi_sql_and_the_projects_conf_wins(tmp_path):
    config = load_project(project(tmp_path, {"name": "spark", "master": "local[2]",
                                             "conf": {"spark.sql.shuffle.partitions": 16, "spark.x": True}}))
    conf = session_conf(config)
    assert conf["spark.sql.session.timeZone"] == "Europe/Copenhagen"
    assert conf["spark.sql.ansi.enabled"] == "true"
    assert conf["spark.sql.shuffle.partitions"] == "16" and conf["spark.x"] == "true"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1" and conf["spark.ui.enabled"] == "false"


def test_spark_connect_sessions_get_no_local_settings(tmp_path):
    conf = session_conf(load_project(project(tmp_path, {"name": "spark", "remote": "sc://h:15002"})))
    assert "spark.driver.bindAddress" not in conf and conf["spark.sql.session.timeZone"] == "Europe/Copenhagen"


@pytest.mark.parametrize("pattern, uri", [("s3a://bucket/sales/*.parquet", True), ("abfss://c@a.dfs.core.windows.net/x", True),
                                          ("hdfs:///exports/*.csv", True), ("data/sales_*.csv", False),
                                          ("C:/exports/x.csv", False)])
def test_storage_uris_are_told_from_project_paths(pattern, uri):
    assert is_uri(pattern) is uri


@pytest.mark.parametrize("size, megabytes", [("1.5GB", 1430), ("512 MiB", 512), ("2GiB", 2048), ("100KB", 1)])
def test_memory_limit_becomes_the_local_drivers_memory(size, megabytes):
    assert java_megabytes(size) == megabytes

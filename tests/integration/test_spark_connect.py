"""`engine: spark` with `remote: sc://...`: a real Spark Connect server on loopback (started from PySpark's own
jars, nothing downloaded), a small project's KPIs computed through it, equal to DuckDB's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core.errors import QueryError
from support.messy import make

SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
FILES = {"data/a.csv": "id;amount;name;day\n1;1.234,5;x;2026-09-30\n2;12,5;y;2026-10-02\n3;7,25;z;2026-10-31\n",
         "data/b.csv": "id;amount;name;day\n3;8,75;z;2026-10-31\n4;1;w;2026-08-15\n"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    logs = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    with open(logs, "wb") as log:
        process = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class", SERVER, "--master", "local[2]",
             "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.bindAddress=127.0.0.1",
             "--conf", "spark.driver.host=127.0.0.1", "spark-internal"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the Spark Connect server stopped: {logs.read_text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail("the Spark Connect server did not start in 10 minutes")
        yield f"sc://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


# One process cannot hold a local Spark session and a Spark Connect one (PySpark refuses the second), and
# other test modules start local sessions in the test workers: each project's figures come from a process of
# its own, as from a pulse command.
KPI_VALUES = """
import json, sys
from pathlib import Path
from pipeline.app import workspace
from pipeline.core.errors import PulseError
from pipeline.core.periods import Grain
from support.project import NOW

try:
    with workspace.open_workspace(Path(sys.argv[1])) as ws:
        calendar = workspace.calendar_for(ws.config, Grain.MONTH)
        period = workspace.resolve_period(ws.config, Grain.MONTH, "2026-10", NOW)
        window = workspace.report_window(calendar, period)
        series = workspace.kpi_series(ws, ["item_count"], window, period)["item_count"]
        print(json.dumps({"engine": ws.engine.describe(), "values": {d.isoformat(): v for d, v in series.items()}}))
except PulseError as exc:
    print(json.dumps({"error": exc.message}))
"""


def kpi_values(root: Path) -> tuple[str, dict]:
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    done = subprocess.run([sys.executable, "-c", KPI_VALUES, str(root)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in found:
        raise QueryError(found["error"])
    return found["engine"], found["values"]


def test_a_project_through_spark_connect_gives_duckdbs_figures(tmp_path, server):
    duck = make(tmp_path / "d", FILES, primary_key=["id"])
    remote = make(tmp_path / "r", FILES, primary_key=["id"])
    with open(remote / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"engine:\n  name: spark\n  remote: {server}\n")
    duck_engine, duck_values = kpi_values(duck)
    spark_engine, spark_values = kpi_values(remote)
    assert duck_engine.startswith("duckdb") and spark_engine.startswith("spark")
    assert spark_values == duck_values
    assert sum(v for v in duck_values.values() if v) == 4  # ids 1..4, id 3 once (the later file wins)

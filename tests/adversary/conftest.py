"""Adversarial repros: each test fails today and names what it breaks.

Set ADVERSARY_SERVER_PORT to run them against an already running ``mlflow server`` (faster iteration);
otherwise they use the suite's own session server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.mlflow_server import MlflowServer


@pytest.fixture(scope="session")
def sqlite_mlflow_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    port = os.environ.get("ADVERSARY_SERVER_PORT")
    if port:
        server = MlflowServer(Path(tmp_path_factory.mktemp("unused")), port=int(port))
        yield server
        return
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()

from __future__ import annotations

import logging

import pytest

from prompthooks.secrets import Redactor, display_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://alice:s3cr%40t@mlflow.example.com:8443/root?token=abc123", "https://mlflow.example.com:8443/root"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("databricks", "databricks"),
        ("sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/mlflow.db"),
    ],
)
def test_display_uri(uri: str, shown: str) -> None:
    assert display_uri(uri) == shown


def test_redactor_masks_uri_credentials_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123456")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw-abcdef")
    redact = Redactor.for_tracking("https://alice:s3cr%40t@host/?token=qq-777")
    text = "GET https://alice:s3cr%40t@host/api s3cr@t tok-123456 pw-abcdef qq-777"
    masked = redact(text)
    for secret in ("s3cr%40t", "s3cr@t", "tok-123456", "pw-abcdef", "qq-777"):
        assert secret not in masked
    assert "host/api" in masked


def test_logging_filter(caplog: pytest.LogCaptureFixture) -> None:
    Redactor(["hunter22"]).install_logging_filter("prompthooks.test")
    with caplog.at_level(logging.WARNING, logger="prompthooks.test"):
        logging.getLogger("prompthooks.test").warning("password is %s", "hunter22")
    assert "hunter22" not in caplog.text
    assert "password is ***" in caplog.text

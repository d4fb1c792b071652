from __future__ import annotations

import logging

import pytest

from prompthooks.secrets import MASK, Redactor, display_uri, mask_patterns


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


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgres://alice:s3cr3tpw@host:5432/mlflow", "postgres://host:5432/mlflow"),  # Heroku's spelling
        ("htpp://alice:s3cr3tpw@host", "htpp://host"),  # a mistyped scheme
        ("postgresql+psycopg://alice:s3cr3t@pw@127.0.0.1:1/db", "postgresql+psycopg://127.0.0.1:1/db"),  # an unquoted '@'
        ("mysql://alice:s3cr/3tpw@db.internal/mlflow", "mysql://db.internal/mlflow"),  # an unquoted '/'
        ("alice:s3cr3tpw@host", "host"),  # no scheme at all
        ("databricks://profile", "databricks://profile"),
    ],
)
def test_display_uri_drops_the_user_info_of_any_spelling(uri: str, shown: str) -> None:
    assert display_uri(uri) == shown
    assert "s3cr" not in Redactor.for_tracking(uri)(f"failed: {uri!r}")


@pytest.mark.parametrize(
    "text",
    [
        "got unsupported URI 'postgres://bob:pw-4711@h:5432/db'",
        "redirected to https://bob:pw-4711@elsewhere.example.com/x",
        "GET /api?token=pw-4711&name=a",
        "password=pw-4711; access_token=pw-4711 x_api_key=pw-4711 client_secret=pw-4711",
    ],
)
def test_any_uri_userinfo_or_secret_parameter_is_masked_even_when_unknown(text: str) -> None:
    """Credentials of a URI the redactor was never told about: the patterns catch them."""
    masked = Redactor([])(text)
    assert "pw-4711" not in masked and MASK in masked
    assert mask_patterns("sqlite:////tmp/mlflow.db name=assistant") == "sqlite:////tmp/mlflow.db name=assistant"

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from prompthooks import PromptUnavailableError, load
from prompthooks.secrets import MASK, Redactor, display_uri, mask_patterns
from tests.helpers import cli
from tests.helpers.loading import fresh_loader
from tests.helpers.repos import init_repo

SECRET = "Zq9sekretPW"
HASH_IN_PASSWORD = f"http://alice:{SECRET}#x@127.0.0.1:1"  # a generated password with '#', pasted unescaped


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
        ("http://alice:s3cr3t#pw@127.0.0.1:1", "http://127.0.0.1:1"),  # an unquoted '#': not a fragment
        ("postgresql://alice:s3cr3t#pw@db:5432/mlflow?sslmode=require", "postgresql://db:5432/mlflow"),
        ("https://alice:s3cr3t?pw@host/root?token=s3cr3tq", "https://host/root"),  # an unquoted '?': not a query
        ("https://s3cr3t#tok@host", "https://host"),  # a token as the user name
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


@pytest.mark.parametrize(
    "text",
    [
        "Invalid url: http://alice:s3cr3t#pw@127.0.0.1:1/api/2.0/mlflow/registered-models/get",
        "could not connect to postgresql://alice:s3cr3t?pw@db:5432/mlflow",
    ],
)
def test_a_hash_or_question_mark_in_a_password_does_not_end_the_masked_user_info(text: str) -> None:
    assert "s3cr" not in mask_patterns(text)


@pytest.mark.parametrize("shown", ["http://alice:s3cr3tpw/api", "alice:s3cr3tpw", "x#pw@127.0.0.1"])
def test_what_a_looser_parser_reads_as_the_password_is_masked_too(shown: str) -> None:
    """urllib ends user info at '#': ``http://alice:s3cr3tpw#x@host`` may come back as ``http://alice:s3cr3tpw/...``."""
    assert "s3cr3tpw" not in Redactor.for_tracking("http://alice:s3cr3tpw#x@127.0.0.1:1")(f"failed: {shown}")


@pytest.fixture
def _fresh_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_loader(monkeypatch)


@pytest.mark.usefixtures("_fresh_loader")
def test_a_password_with_a_hash_sign_never_appears_in_a_load_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The masks stopped user info at '#' (read as a fragment), so the password before the '#' was shown twice:
    in "the registry http://alice:<password> failed" and in MLflow's "Invalid url" text."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", HASH_IN_PASSWORD)
    with pytest.raises(PromptUnavailableError) as raised:
        load("adv_nothing", env="production", deadline=3)
    shown = [str(raised.value), repr(vars(raised.value)), *(record.getMessage() for record in caplog.records)]
    assert not [text for text in shown if SECRET in text], [text for text in shown if SECRET in text][:1]


def test_a_password_with_a_hash_sign_never_appears_in_cli_output(tmp_path: Path) -> None:
    """The same URI given to a command: `prompthooks: error: registry http://alice:<password> unreachable ...`."""
    repo = init_repo(tmp_path / "repo")
    result = cli.run(
        repo.root, "status", "production", "--tracking-uri", HASH_IN_PASSWORD, "--timeout", "5", env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    )
    assert SECRET not in result.stdout + result.stderr, result.stderr

"""Keep credentials out of everything prompthooks prints or logs."""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Iterable
from typing import Final

SECRET_VARIABLES: Final = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET")
MASK: Final = "***"


def display_uri(uri: str) -> str:
    """The URI without user info, query or fragment: safe to print."""
    parts = urllib.parse.urlsplit(uri)
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class Redactor:
    """Replaces every known secret in a text with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({secret for secret in secrets if len(secret) >= 3}, key=len, reverse=True)

    def extend(self, secrets: Iterable[str]) -> None:
        """Mask these too (a process-wide log filter learns each registry's secrets)."""
        self.secrets = Redactor([*self.secrets, *secrets]).secrets

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
            quoted = urllib.parse.quote(secret, safe="")
            if quoted != secret:
                text = text.replace(quoted, MASK)
        return text

    @classmethod
    def for_tracking(cls, uri: str) -> Redactor:
        parts = urllib.parse.urlsplit(uri)
        secrets = [os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)]
        if "@" in parts.netloc:
            userinfo = parts.netloc.rpartition("@")[0]
            secrets.append(userinfo)
            password = userinfo.partition(":")[2]
            secrets.extend([password, urllib.parse.unquote(password)])
        if parts.query:
            secrets.append(parts.query)
            secrets.extend(value for _, value in urllib.parse.parse_qsl(parts.query))
        return cls(secrets)

    def install_logging_filter(self, *logger_names: str) -> None:
        """Mask secrets in what these loggers (and their handlers) emit."""
        redactor = self

        class _Filter(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                record.msg = redactor(record.getMessage())
                record.args = None
                return True

        for name in logger_names:
            logger = logging.getLogger(name)
            logger.addFilter(_Filter())
            for handler in logger.handlers:
                handler.addFilter(_Filter())

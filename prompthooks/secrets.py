"""Keep credentials out of everything prompthooks prints or logs."""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Iterable
from typing import Final, NamedTuple

SECRET_VARIABLES: Final = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET")
MASK: Final = "***"

# User info in anything shaped like a URI, whatever its scheme or spelling (``postgres://``, a mistyped ``htpp://``):
# everything between ``scheme://`` and the last ``@`` before the first ``/``.  A pasted password holds '#' and '?'
# unescaped: they do not end it (read as a fragment or a query, they would leave its first half shown).
_USERINFO: Final = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s'\"<>]*)@")
# Where a looser parser (urllib's, requests', a database driver's) may end user info or a password: each piece it
# could print is a secret too (``alice:PASS#x@host`` read by urllib shows ``alice:PASS``).
_USERINFO_ENDS: Final = re.compile(r"[@/?#]")
# ``token=...``, ``password=...`` and their kin, in a query string or anywhere in a message.
_SECRET_PARAMETER: Final = re.compile(
    r"(?P<key>(?<![A-Za-z0-9])(?:[A-Za-z0-9_-]*[_-])?(?:token|password|passwd|pwd|secret|api[_-]?key|signature|sig|credentials?)=)"
    r"(?P<value>[^&;,\s'\"<>#)]+)",
    re.IGNORECASE,
)


def mask_patterns(text: str) -> str:
    """``text`` with the user info of every URI-looking string and every secret-named parameter's value masked."""
    if "@" in text:
        text = _USERINFO.sub(lambda match: f"{match.group('scheme')}{MASK}@", text)
    if "=" in text:
        text = _SECRET_PARAMETER.sub(lambda match: f"{match.group('key')}{MASK}", text)
    return text


class _Parts(NamedTuple):
    prefix: str  # ``scheme://``, or "" for a URI without one
    userinfo: str
    location: str  # host, port and path: no query or fragment
    query: str


def _split(uri: str) -> _Parts:
    """The URI's parts, read as loosely as a mistyped URI or a pasted password needs.

    The user info ends at the URI's last ``@``: a password may hold an unquoted ``@``, ``/``, ``?`` or ``#``, and
    any of them ending it early would show the rest.  An ``@`` in a path or query is then read as user info too:
    masked, never shown, which is the safe way to be wrong.
    """
    scheme, separator, rest = uri.partition("://")
    if not separator:
        scheme, rest = "", uri
    userinfo, _, after = rest.rpartition("@")
    head, _, query = after.partition("#")[0].partition("?")
    return _Parts(scheme + separator, userinfo, head, query)


def display_uri(uri: str) -> str:
    """The URI without user info, query or fragment: safe to print."""
    parts = _split(uri)
    return mask_patterns(parts.prefix + parts.location)


class Redactor:
    """Replaces every known secret in a text with ``***``, and the patterns of ``mask_patterns``."""

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
        return mask_patterns(text)

    @classmethod
    def for_tracking(cls, uri: str) -> Redactor:
        """The secrets of this registry URI (its user info and query, however it is spelled) and of the environment."""
        secrets = [os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)]
        parts = _split(uri)
        userinfo, query = parts.userinfo, parts.query
        if userinfo:
            user, colon, password = userinfo.partition(":")
            secret = password if colon else user  # a token given as the user name is the secret
            secrets.extend([userinfo, secret, urllib.parse.unquote(secret), *_USERINFO_ENDS.split(secret)])
        if query:
            secrets.append(query)
            secrets.extend(value for _, value in urllib.parse.parse_qsl(query))
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

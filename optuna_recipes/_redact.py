"""Secrets out of what we print and write: passwords and tokens in URLs and messages.

A storage URL may carry a password (``postgresql://user:pw@host/db``, ``redis://:pw@host``) or a
token in its query (``?password=...``, ``?token=...``). Everything the package prints or writes
(reports, manifests, command output, error messages) passes through :func:`redact` first, which
replaces each secret with ``***`` and leaves the rest readable, so that a shared report still
says which storage was used. The command-line interfaces call it on every message that may hold
a URL; a URL given to Optuna itself is never altered.

Example:
    .. code-block:: python

        from optuna_recipes._redact import redact, redact_url

        redact_url("postgresql://bench:s3cret@db.example:5432/hpo")
        # 'postgresql://bench:***@db.example:5432/hpo'
        redact("could not connect to redis://:s3cret@cache:6379/0 (timeout)")
        # 'could not connect to redis://:***@cache:6379/0 (timeout)'
"""

from __future__ import annotations

import re

MASK = "***"

# Query or key=value parameters whose value is a secret (lower case; matched case-insensitively).
SECRET_KEYS = (
    "password",
    "passwd",
    "pwd",
    "sslpassword",
    "token",
    "access_token",
    "auth_token",
    "api_key",
    "apikey",
    "secret",
    "client_secret",
    "secret_key",
    "access_key",
    "aws_secret_access_key",
    "sig",
    "signature",
)

# scheme://user:password@  or  scheme://:password@  (the password may not contain "@" or "/").
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<pw>[^\s@/'\"]+)@")
_PARAMS = re.compile(
    r"(?P<head>(?<![A-Za-z0-9_])(?:" + "|".join(SECRET_KEYS) + r")\s*=\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;,'\")]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every password or token of a URL or ``key=value`` pair replaced by ``***``.

    Covers ``scheme://user:secret@``, ``scheme://:secret@`` and parameters named like a secret
    (``password=``, ``token=``, ``api_key=``, ... see :data:`SECRET_KEYS`), in URLs and in free
    text such as a driver's error message or a libpq connection string.
    """
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _PARAMS.sub(lambda m: m.group("head") + _masked(m.group("value")), text)


def _masked(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{quote}{MASK}{quote}"


def redact_url(url: str | None) -> str | None:
    """A storage URL fit to print or write: the same URL with its secrets replaced by ``***``."""
    return None if url is None else redact(url)

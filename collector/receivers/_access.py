# SPDX-License-Identifier: Apache-2.0
"""The optional bearer token both receivers require, compared in constant time.

A token is a secret shared with the senders (`Authorization: Bearer TOKEN` on OTLP/HTTP, the `authorization`
metadata on OTLP/gRPC, which is what `OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20TOKEN` sets on either
exporter). The comparison takes the same time whatever the prefix a guess shares with the token, so the token
cannot be found a byte at a time by timing refusals.
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path

_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an HTTP header and gRPC metadata carry unchanged


class BearerToken:
    def __init__(self, token: str) -> None:
        if not _TOKEN.fullmatch(token):
            raise ValueError("the auth token must be non-empty visible ASCII (no spaces)")
        self._token = token.encode("ascii")

    def allows(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header (or gRPC `authorization` metadata) value carries the token."""
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        offered = credentials.strip().encode("utf-8", "replace")
        # compare even when the scheme is wrong, so a refusal takes the same time either way
        matches = hmac.compare_digest(offered, self._token)
        return matches and scheme.lower() == "bearer"


def read_token(token: str | None, token_file: Path | None) -> BearerToken | None:
    """The token given directly or in a file (its first line), or None when neither is set."""
    if token and token_file:
        raise ValueError("give the auth token either directly or in a file, not both")
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read the auth token file {token_file}: {error}") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise ValueError(f"the auth token file {token_file} is empty")
    return BearerToken(token) if token else None

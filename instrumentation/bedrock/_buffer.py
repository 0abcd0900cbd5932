# SPDX-License-Identifier: Apache-2.0
"""Reading an `InvokeModel` response body, and giving the app a body that reads exactly the same.

The body (a botocore `StreamingBody`) is the one place a model's answer says which model ran, why it stopped and,
for some families, its usage; and it can be read once. So it is read here, when the call returns, and the app
gets a new `StreamingBody` over the same bytes, which it reads, iterates or closes as it would have the original.

Should reading fail part way (a connection reset), the app's body hands out what had arrived and then raises
that same error, at the same point of its own reading, as the original body would have.
"""

from __future__ import annotations

import io
from typing import Any

from botocore.response import StreamingBody

_CHUNK = 64 * 1024


def take(body: Any) -> tuple[Any, bytes | None]:
    """`(the body to give the app, the bytes it holds)`; the bytes are None (and the body itself is returned) when
    it is not a `StreamingBody`, and None too when reading it failed."""
    if not isinstance(body, StreamingBody):
        return body, None
    chunks: list[bytes] = []
    error: Exception | None = None
    try:
        while chunk := body.read(_CHUNK):
            chunks.append(chunk)
    except Exception as failure:  # the app's own read of the body raises it instead, below
        error = failure
    content = b"".join(chunks)
    if error is not None:
        return StreamingBody(_Failing(content, error), None), None
    return StreamingBody(io.BytesIO(content), len(content)), content


class _Failing(io.BytesIO):
    """The bytes read before `error`, then `error`: a whole read raises at once, as the original's would."""

    def __init__(self, content: bytes, error: Exception) -> None:
        super().__init__(content)
        self._error = error

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(-1 if size is None or size < 0 else size)
        if size is None or size < 0 or not data:
            raise self._error
        return data

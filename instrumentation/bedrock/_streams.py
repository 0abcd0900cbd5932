# SPDX-License-Identifier: Apache-2.0
"""Readers of Bedrock's event streams (botocore's `EventStream`, read through the shared stream proxy).

`ConverseStream` sends one event per dict: `messageStart`, content deltas, `messageStop` (the stop reason), then
`metadata` with the call's `usage`. `InvokeModelWithResponseStream` sends `{"chunk": {"bytes": …}}` events whose
bytes are the model family's own JSON; Bedrock adds `amazon-bedrock-invocationMetrics` (the billed counts) to the
last one. Those metrics win over any count the family's chunks carry, which fill in where a stream has no metrics
(a stream a guardrail blocked). A stream that ends before its final counts arrive records no usage, flagged
incomplete, as on every provider.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmledger._core.usage import Usage

from .._shared.fields import text as _str
from .._shared.invocation import Response
from ..anthropic._extract import MessageStreamReader
from . import _bodies, _usage
from ._extract import served

_METRICS = "amazon-bedrock-invocationMetrics"
# Chunks that only carry generated text, recognised without decoding them (most chunks of a stream).
_DELTAS = (b'{"type":"content_block_delta"', b'{"contentBlockDelta"')
# A chunk is decoded only when its bytes name a key the readers below read: Bedrock's metrics, Claude's event
# type, Nova's metadata, or a family's counts and stop reasons (`_bodies.READ_KEYS`). Titan's text chunks name
# none, and skipping them is what keeps a chunk under its budget (decoding one costs several µs). The families
# write their keys plainly, never as JSON escapes.
_READ = re.compile(
    b'"(?:' + b"|".join(re.escape(key.encode()) for key in (_METRICS, "type", "metadata", *_bodies.READ_KEYS)) + b')"'
)


class ConverseStreamReader:
    __slots__ = ("_stop", "_tier", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._stop: str | None = None
        self._tier: Any = None
        self._usage = Usage()
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        if "messageStop" in event:
            self._stop = _str(event["messageStop"].get("stopReason")) or self._stop
        elif "metadata" in event:
            metadata = event["metadata"]
            self._tier = metadata.get("serviceTier")
            usage = _usage.from_converse(metadata.get("usage"))
            if not usage.is_empty:
                self._usage, self.usage_seen = usage, True

    def response(self) -> Response:
        attributes, variant = served(self._tier)
        return Response(
            finish_reasons=[self._stop] if self._stop else None,
            usage=self._usage if self.usage_seen else Usage(),
            attributes=attributes,
            price_variant=variant,
        )


class InvokeStreamReader:
    """Chunks of any model family. Claude's events go to the Anthropic reader (which knows `message_start` and
    `message_delta`); other families report counts in their own fields (`_bodies.usage`), some (Titan's input,
    Llama's prompt) only in the first chunk, so counts seen are kept until a later chunk gives a new value."""

    __slots__ = ("_anthropic", "_billable", "_final", "_reasons", "_reported", "_tier", "usage_seen")

    def __init__(self) -> None:
        self._tier: Any = None  # the tier the response's headers name (`served`)
        self._anthropic: MessageStreamReader | None = None
        self._billable: Usage | None = None
        self._reported = Usage()
        self._final = False  # the family's counts are final: a chunk that ends the message carried them
        self._reasons: list[str] | None = None
        self.usage_seen = False

    def served(self, result: Mapping[str, Any]) -> None:
        """What the streamed call's result (its headers) says about how it was served."""
        self._tier = result.get("serviceTier")

    def feed(self, event: Any) -> None:
        # botocore's events are dicts: `type(…) is dict` first spares most chunks two ABC checks (~0.3 µs each)
        chunk = event.get("chunk") if type(event) is dict or isinstance(event, Mapping) else None
        raw = chunk.get("bytes") if type(chunk) is dict or isinstance(chunk, Mapping) else None
        if not isinstance(raw, bytes) or raw.startswith(_DELTAS) or _READ.search(raw) is None:
            return
        data = _bodies.parse(raw)
        if not isinstance(data, Mapping):
            return
        billable = _usage.from_metrics(data.get(_METRICS))
        if billable is not None:
            self._billable, self.usage_seen = billable, True
        if isinstance(data.get("type"), str):  # Claude's Messages events
            if self._anthropic is None:
                self._anthropic = MessageStreamReader()
            self._anthropic.feed(data)
            self.usage_seen = self.usage_seen or self._anthropic.usage_seen
            return
        reasons = _bodies.finish_reasons(data)
        if reasons:
            self._reasons = reasons
        self._read_counts(data, ended=reasons is not None)

    def _read_counts(self, data: Mapping[str, Any], ended: bool) -> None:
        metadata = data.get("metadata")
        counts: Usage | None
        if isinstance(metadata, Mapping) and isinstance(metadata.get("usage"), Mapping):  # Nova: after messageStop
            counts, ended = _usage.from_converse(metadata["usage"]), True
        else:
            counts = _bodies.usage(data)
            if counts is None:
                return
            # Titan sends its output count only in its last chunk; OpenAI-style bodies their usage.
            ended = ended or "totalOutputTextTokenCount" in data or "usage" in data
        seen = zip(counts, self._reported, strict=True)
        self._reported = Usage(*(new if new is not None else old for new, old in seen))
        if ended and self._reported.output_tokens is not None:
            self._final = True
            self.usage_seen = True

    def response(self) -> Response:
        if self._anthropic is not None:
            response = self._anthropic.response()
            reported = response.usage if self._anthropic.usage_seen else None
        else:
            response = Response(finish_reasons=self._reasons)
            reported = self._reported if self._final else None
        response.usage = _usage.prefer(self._billable, reported) if self.usage_seen else Usage()
        attributes, variant = served(self._tier)
        if attributes:
            response.attributes = {**response.attributes, **attributes}
            response.price_variant = variant
        return response

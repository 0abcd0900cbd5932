# SPDX-License-Identifier: Apache-2.0
"""A streamed Anthropic call ends its span exactly once, whichever way the app stops reading.

Both shapes are covered: `messages.create(stream=True)` (raw events) and the `messages.stream()` helper (a
manager that sends the request on entering its block, read by iteration, `text_stream` or
`get_final_message()`). The stream is a recorded one (claude-3-5-haiku, 17 input and 108 output tokens),
served by an in-process transport to the SDK's real HTTP client.
"""

from __future__ import annotations

import asyncio
import gc

import anthropic
import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.transport import MESSAGES, STREAM, recorded_body
from tests.instrumentation.features import needs
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import one_span

MODEL = "claude-3-5-haiku-20241022"
ARGS = {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES}


def _client():
    return transport.client(transport.stream_response(STREAM))


def _assert_complete(span):
    attrs = span.attributes
    assert attrs["llmledger.usage.complete"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 17
    assert attrs["gen_ai.usage.output_tokens"] == 108
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["gen_ai.usage.cost"] == pytest.approx((17 * 0.8 + 108 * 4) / 1e6)
    assert span.status.is_unset


def _assert_incomplete(span):
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.output_tokens" not in span.attributes
    assert "gen_ai.usage.cost" not in span.attributes


# --- create(stream=True) -------------------------------------------------------------------------------


def test_create_stream_read_to_the_end(instrumented, span_exporter):
    events = list(_client().messages.create(**ARGS, stream=True))

    assert events[0].type == "message_start"
    _assert_complete(one_span(span_exporter))


def test_create_stream_break_then_dropped(instrumented, span_exporter):
    stream = _client().messages.create(**ARGS, stream=True)
    for index, _ in enumerate(stream):
        if index == 2:
            break
    assert span_exporter.get_finished_spans() == ()
    del stream

    span = one_span(span_exporter)
    _assert_incomplete(span)
    assert span.attributes["gen_ai.response.model"] == MODEL  # from message_start


def test_create_stream_with_block_left_early(instrumented, span_exporter):
    with _client().messages.create(**ARGS, stream=True) as stream:
        next(iter(stream))

    _assert_incomplete(one_span(span_exporter))


def _lost_connection_client():
    """A client whose stream delivers three recorded events, then the connection drops."""
    return transport.client(lambda request: transport.failing_stream(recorded_body(*STREAM), 3))


def _read_create_stream_until_it_fails() -> tuple[list[str], Raised]:
    """What the app sees reading `create(stream=True)` on a lost connection: the events, then the error."""
    received: list[str] = []

    def read():
        for event in _lost_connection_client().messages.create(**ARGS, stream=True):
            received.append(event.type)

    return received, raised_by(read)


def test_create_stream_connection_lost(tracer_provider, meter_provider, span_exporter):
    without, instrumented = without_and_with(
        AnthropicInstrumentor(),
        _read_create_stream_until_it_fails,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )

    assert instrumented == without  # the same events, then the same exception, as without llmledger
    (received, raised) = instrumented
    assert received[0] == "message_start"
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    _assert_incomplete(span)


# --- messages.stream() helper --------------------------------------------------------------------------


def test_helper_iterated_to_the_end(instrumented, span_exporter):
    with _client().messages.stream(**ARGS) as stream:
        kinds = {event.type for event in stream}

    assert {"message_start", "text", "message_stop"} <= kinds
    _assert_complete(one_span(span_exporter))


def test_helper_text_stream(instrumented, span_exporter):
    with _client().messages.stream(**ARGS) as stream:
        text = "".join(stream.text_stream)

    assert text
    _assert_complete(one_span(span_exporter))


def test_helper_get_final_message(instrumented, span_exporter):
    with _client().messages.stream(**ARGS) as stream:
        message = stream.get_final_message()

    assert message.usage.output_tokens == 108
    _assert_complete(one_span(span_exporter))


def test_helper_break_inside_the_block(instrumented, span_exporter):
    with _client().messages.stream(**ARGS) as stream:
        for event in stream:
            if event.type == "text":
                break
        assert span_exporter.get_finished_spans() == ()

    span = one_span(span_exporter)
    _assert_incomplete(span)
    assert span.status.is_unset


def test_helper_left_without_reading(instrumented, span_exporter):
    with _client().messages.stream(**ARGS):
        pass

    _assert_incomplete(one_span(span_exporter))


def test_an_error_inside_the_block_reaches_the_app_and_marks_the_span(instrumented, span_exporter):
    with pytest.raises(KeyError), _client().messages.stream(**ARGS) as stream:
        next(iter(stream))
        raise KeyError("the app's own bug")

    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "KeyError"
    _assert_incomplete(span)


def _helper_until_it_fails() -> Raised:
    """What the app sees from `get_final_message()` on a lost connection."""

    def read():
        with _lost_connection_client().messages.stream(**ARGS) as stream:
            stream.get_final_message()

    return raised_by(read)


def test_helper_connection_lost(tracer_provider, meter_provider, span_exporter):
    without, instrumented = without_and_with(
        AnthropicInstrumentor(),
        _helper_until_it_fails,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )

    assert instrumented == without
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == instrumented.type.__qualname__
    _assert_incomplete(span)


def test_helper_request_refused(instrumented, span_exporter):
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    client = transport.client(transport.json_response(error, status=529))
    with pytest.raises(anthropic.APIStatusError) as raised, client.messages.stream(**ARGS):
        pass

    assert raised.value.status_code == 529
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.status.status_code.name == "ERROR"


def test_a_manager_never_entered_makes_no_span(instrumented, span_exporter):
    _client().messages.stream(**ARGS)
    gc.collect()
    assert span_exporter.get_finished_spans() == ()


# --- async -----------------------------------------------------------------------------------------------


def _async_client():
    return transport.async_client(transport.stream_response(STREAM))


def test_async_create_stream(instrumented, span_exporter):
    async def run():
        return [event async for event in await _async_client().messages.create(**ARGS, stream=True)]

    assert asyncio.run(run())
    _assert_complete(one_span(span_exporter))


def test_async_create_stream_left_early(instrumented, span_exporter):
    async def run():
        async with await _async_client().messages.create(**ARGS, stream=True) as stream:
            await stream.__anext__()

    asyncio.run(run())
    _assert_incomplete(one_span(span_exporter))


def test_async_helper_text_stream(instrumented, span_exporter):
    async def run():
        async with _async_client().messages.stream(**ARGS) as stream:
            return "".join([text async for text in stream.text_stream])

    assert asyncio.run(run())
    _assert_complete(one_span(span_exporter))


def test_async_helper_left_early(instrumented, span_exporter):
    client = _async_client()
    needs(client.beta.messages, "stream")

    async def run():
        async with client.beta.messages.stream(**ARGS) as stream:
            await stream.__anext__()

    asyncio.run(run())
    _assert_incomplete(one_span(span_exporter))

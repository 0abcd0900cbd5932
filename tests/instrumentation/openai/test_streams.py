# SPDX-License-Identifier: Apache-2.0
"""A streamed call ends its span exactly once, whichever way the app stops reading.

The stream is a recorded one (gpt-4, with usage in its last chunk), served by an in-process transport to the
SDK's real HTTP client.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmledger.instrumentation.openai import OpenAIInstrumentor
from tests.instrumentation.features import needs
from tests.instrumentation.openai import transport
from tests.instrumentation.openai.transport import CHAT_STREAM, RESPONSES_STREAM, recorded_body, sse
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import one_span

MESSAGES = [{"role": "user", "content": "Say this is a test"}]


def _stream_client() -> openai.OpenAI:
    return transport.client(lambda request: sse(recorded_body(*CHAT_STREAM)))


def test_read_to_the_end_records_usage_and_time_to_first_chunk(instrumented, span_exporter):
    chunks = list(_stream_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True))

    span = one_span(span_exporter)
    assert len(chunks) > 2
    assert span.attributes["llmledger.usage.complete"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert span.attributes["gen_ai.usage.cost"] > 0
    assert span.status.is_ok


def test_break_after_two_chunks_then_dropped_ends_incomplete(instrumented, span_exporter):
    stream = _stream_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    for index, _ in enumerate(stream):
        if index == 1:
            break
    assert span_exporter.get_finished_spans() == ()
    del stream

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert span.attributes["gen_ai.response.model"] == "gpt-4-0613"
    assert "gen_ai.usage.cost" not in span.attributes


def test_leaving_a_with_block_early_ends_the_span(instrumented, span_exporter):
    with _stream_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True) as stream:
        next(stream)

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert span.status.is_ok


def test_close_ends_the_span(instrumented, span_exporter):
    stream = _stream_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    stream.close()  # closing twice is harmless

    assert one_span(span_exporter).attributes["llmledger.usage.complete"] is False


def test_a_stream_never_read_ends_when_dropped(instrumented, span_exporter):
    stream = _stream_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    del stream

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False


def _read_until_the_connection_drops() -> tuple[list[str], Raised]:
    """What the app sees reading a stream whose connection drops after three chunks: the chunks, then the error."""
    client = transport.client(lambda request: transport.failing_stream(recorded_body(*CHAT_STREAM), 3))
    received: list[str] = []

    def read():
        for chunk in client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True):
            received.append(chunk.model_dump_json())

    return received, raised_by(read)


def test_a_connection_lost_mid_stream_reaches_the_app_and_marks_the_span(tracer_provider, span_exporter):
    without, instrumented = without_and_with(
        OpenAIInstrumentor(), _read_until_the_connection_drops, tracer_provider=tracer_provider
    )

    assert instrumented == without  # the same chunks, then the same exception, as without llmledger
    (received, raised) = instrumented
    assert len(received) == 3
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llmledger.usage.complete"] is False


def test_an_interrupt_mid_stream_reaches_the_app_and_ends_the_span_without_an_error(instrumented, span_exporter):
    client = transport.client(
        lambda request: transport.failing_stream(recorded_body(*CHAT_STREAM), 3, KeyboardInterrupt())
    )
    stream = client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            received.append(chunk)

    span = one_span(span_exporter)
    assert len(received) == 3
    assert span.status.status_code.name == "UNSET"  # stopping is not failing: no error.type either
    assert "error.type" not in span.attributes
    assert span.attributes["llmledger.usage.complete"] is False
    assert span.attributes["gen_ai.response.model"] == "gpt-4-0613"


def test_a_task_cancelled_mid_stream_ends_the_span_without_an_error(instrumented, span_exporter):
    async def run() -> list:
        client = transport.async_client(lambda request: transport.stalling_stream(recorded_body(*CHAT_STREAM), 3))
        stream = await client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
        received: list = []

        async def read() -> None:
            async for chunk in stream:
                received.append(chunk)

        reader = asyncio.ensure_future(read())
        while len(received) < 3:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)  # the reader is now waiting inside the stream for a chunk that never comes
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        return received

    assert len(asyncio.run(run())) == 3
    span = one_span(span_exporter)
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in span.attributes
    assert span.attributes["llmledger.usage.complete"] is False


def test_async_iteration_records_usage(instrumented, span_exporter):
    async def run() -> int:
        client = transport.async_client(lambda request: sse(recorded_body(*CHAT_STREAM)))
        stream = await client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
        return len([chunk async for chunk in stream])

    assert asyncio.run(run()) > 2
    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 5


def test_async_with_block_left_early(instrumented, span_exporter):
    async def run() -> None:
        client = transport.async_client(lambda request: sse(recorded_body(*CHAT_STREAM)))
        async with await client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True) as stream:
            await stream.__anext__()

    asyncio.run(run())
    assert one_span(span_exporter).attributes["llmledger.usage.complete"] is False


def test_chat_stream_helper_recordsone_span(instrumented, span_exporter):
    completions = _stream_client().chat.completions
    needs(completions, "stream")
    with completions.stream(model="gpt-4", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        completion = stream.get_final_completion()

    span = one_span(span_exporter)
    assert completion.choices[0].message.content
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["llmledger.usage.complete"] is True


def test_chat_stream_helper_left_early_ends_the_span(instrumented, span_exporter):
    completions = _stream_client().chat.completions
    needs(completions, "stream")
    with completions.stream(model="gpt-4", messages=MESSAGES) as stream:
        next(iter(stream))

    assert one_span(span_exporter).attributes["llmledger.usage.complete"] is False


def test_responses_stream_helper_records_usage(instrumented, span_exporter):
    client = transport.client(lambda request: sse(recorded_body(*RESPONSES_STREAM)))
    needs(client, "responses")
    with client.responses.stream(model="gpt-4.1-nano", input="Tell me a joke") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()

    span = one_span(span_exporter)
    assert final.usage.output_tokens == 79
    assert span.name == "chat gpt-4.1-nano"
    assert span.attributes["gen_ai.usage.input_tokens"] == 18
    assert span.attributes["gen_ai.usage.output_tokens"] == 79
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.0000334)


def test_include_usage_is_requested_without_touching_the_callers_arguments(instrumented, span_exporter):
    recorder = transport.Recorder(lambda request: sse(recorded_body(*CHAT_STREAM)))
    arguments = {"model": "gpt-4", "messages": MESSAGES, "stream": True}
    list(transport.client(recorder).chat.completions.create(**arguments))

    assert recorder.sent_json()["stream_options"] == {"include_usage": True}
    assert arguments == {"model": "gpt-4", "messages": MESSAGES, "stream": True}


def test_the_callers_stream_options_win(instrumented, span_exporter):
    recorder = transport.Recorder(lambda request: sse(recorded_body(*CHAT_STREAM)))
    list(
        transport.client(recorder).chat.completions.create(
            model="gpt-4", messages=MESSAGES, stream=True, stream_options={"include_usage": False}
        )
    )

    assert recorder.sent_json()["stream_options"] == {"include_usage": False}


def test_include_usage_can_be_switched_off(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("LLMLEDGER_OPENAI_INCLUDE_USAGE", "false")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        recorder = transport.Recorder(lambda request: sse(recorded_body(*CHAT_STREAM)))
        list(transport.client(recorder).chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True))
    finally:
        instrumentor.uninstrument()
    assert "stream_options" not in recorder.sent_json()


@pytest.mark.parametrize(
    ("base_url", "setting", "asked"),
    [
        ("https://llm-gateway.internal.example/v1", "", True),  # unknown to llmledger: asked all the same
        ("https://api.mistral.ai/v1", "", False),  # refuses the parameter: not asked
        ("https://api.mistral.ai/v1", "true", True),  # unless the variable forces it
        ("https://api.openai.com/v1", "false", False),  # and the variable can switch it off everywhere
    ],
)
def test_include_usage_is_asked_of_every_host_but_known_refusers_unless_forced(
    base_url, setting, asked, monkeypatch, tracer_provider, span_exporter
):
    monkeypatch.setenv("LLMLEDGER_OPENAI_INCLUDE_USAGE", setting)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        recorder = transport.Recorder(lambda request: sse(recorded_body(*CHAT_STREAM)))
        client = transport.client(recorder).with_options(base_url=base_url)
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    finally:
        instrumentor.uninstrument()
    assert ("stream_options" in recorder.sent_json()) is asked
    if asked:
        assert recorder.sent_json()["stream_options"] == {"include_usage": True}

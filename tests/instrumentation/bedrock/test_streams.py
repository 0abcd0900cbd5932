# SPDX-License-Identifier: Apache-2.0
"""A Bedrock event stream ends its span exactly once, whichever way the app stops reading.

Both streamed operations are covered, each with a recorded stream: `converse_stream` (Titan Text Lite, 8 input and
10 output tokens, usage in its `metadata` event) and `invoke_model_with_response_stream` (Claude 3 Sonnet, 16 and
21, usage in the `amazon-bedrock-invocationMetrics` of its last chunk). Errors part way are made by cutting the
recorded bytes and adding the exception frame Bedrock sends; the rest of the stack is boto3's own.
"""

from __future__ import annotations

import pytest

from llmledger.instrumentation.bedrock import BedrockInstrumentor
from tests.instrumentation.bedrock import event_frames
from tests.instrumentation.bedrock.sdk_calls import STREAM_KEYS, only_interaction, send, target
from tests.instrumentation.passthrough import raised_by, without_and_with
from tests.instrumentation.telemetry import one_span

# (cassette, input and output tokens, events, of which the first carrying the final usage, cost in µUSD)
CONVERSE = ("bedrock/otel-contrib/botocore/test_converse_stream_with_content.yaml", 8, 10, 5, 4, 8 * 0.15 + 10 * 0.2)
INVOKE = (
    "bedrock/openllmetry/bedrock/traces/test_anthropic/test_anthropic_3_completion_streaming.yaml",
    16,
    21,
    23,
    21,  # Claude's message_delta, before the message_stop that carries Bedrock's invocation metrics
    16 * 3 + 21 * 15,
)
STREAMS = pytest.mark.parametrize(
    ("file", "input_tokens", "output_tokens", "events", "usage_at", "micro_usd"),
    [CONVERSE, INVOKE],
    ids=["converse", "invoke"],
)


def _open(interaction):
    """Make the streamed call; the result and its event stream, unread."""
    result = send(interaction)
    return result, result[STREAM_KEYS[target(interaction)[2]]]


def _assert_incomplete(span):
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.output_tokens" not in span.attributes
    assert "gen_ai.usage.cost" not in span.attributes


def _cut(keep: int, error: bytes = b""):
    """An edit of a recorded stream: its first `keep` frames, then `error` (an exception frame), then nothing."""

    def edit(interaction):
        body = interaction["response"]["body"]["string"]
        interaction["response"]["body"]["string"] = b"".join(event_frames.frames(body)[:keep]) + error

    return edit


@STREAMS
def test_a_stream_read_to_the_end_gives_the_app_every_event_and_records_the_call_once(
    file,
    input_tokens,
    output_tokens,
    events,
    usage_at,
    micro_usd,
    tracer_provider,
    meter_provider,
    span_exporter,
    tmp_path,
):
    def read_all():
        with only_interaction(file, 0, tmp_path) as interaction:
            _, stream = _open(interaction)
            read = list(stream)
            stream.close()  # after the end: nothing more to record
            return read

    without, with_ = without_and_with(
        BedrockInstrumentor(), read_all, tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    assert with_ == without and len(with_) == events
    attrs = one_span(span_exporter).attributes
    assert attrs["llmledger.usage.complete"] is True
    assert attrs["gen_ai.usage.input_tokens"] == input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == output_tokens
    assert attrs["gen_ai.usage.cost"] == pytest.approx(micro_usd / 1e6, rel=1e-12)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


@STREAMS
def test_a_stream_closed_after_its_first_event_ends_its_span_at_close(
    file, input_tokens, output_tokens, events, usage_at, micro_usd, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, 0, tmp_path) as interaction:
        result, stream = _open(interaction)
        next(iter(stream))
        stream.close()

        (span,) = span_exporter.get_finished_spans()  # before the stream is dropped
        _assert_incomplete(span)
        assert span.status.is_unset  # leaving early is the app's choice, not a failure
        del result, stream
    assert one_span(span_exporter) is not None


@STREAMS
def test_a_stream_left_after_a_break_ends_its_span_when_dropped(
    file, input_tokens, output_tokens, events, usage_at, micro_usd, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, 0, tmp_path) as interaction:
        result, stream = _open(interaction)
        for _event in stream:
            break
        assert span_exporter.get_finished_spans() == ()
        del result, stream, _event

    _assert_incomplete(one_span(span_exporter))


@STREAMS
def test_a_stream_cut_off_before_its_usage_records_none_and_says_so(
    file, input_tokens, output_tokens, events, usage_at, micro_usd, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, 0, tmp_path, _cut(usage_at)) as interaction:
        _, stream = _open(interaction)
        assert len(list(stream)) == usage_at

    span = one_span(span_exporter)
    _assert_incomplete(span)
    assert span.status.is_unset


@STREAMS
def test_an_error_part_way_reaches_the_app_unchanged_and_marks_the_span(
    file,
    input_tokens,
    output_tokens,
    events,
    usage_at,
    micro_usd,
    tracer_provider,
    meter_provider,
    span_exporter,
    tmp_path,
):
    failure = event_frames.exception("modelStreamErrorException", "The model stopped unexpectedly.")

    def read_all():
        with only_interaction(file, 0, tmp_path, _cut(2, failure)) as interaction:
            _, stream = _open(interaction)
            return raised_by(lambda: list(stream))

    without, with_ = without_and_with(
        BedrockInstrumentor(), read_all, tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    assert with_ == without
    assert with_.type.__name__ == "EventStreamError"
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "EventStreamError"
    assert span.status.status_code.name == "ERROR"
    _assert_incomplete(span)


def test_a_claude_stream_without_invocation_metrics_records_claudes_own_final_counts(
    instrumented, span_exporter, tmp_path
):
    """Bedrock's metrics win when they arrive (`test_recorded_traffic`); a stream that ends after Claude's
    `message_delta` but before them still has that final count."""
    file, input_tokens, output_tokens, events, _, micro_usd = INVOKE
    with only_interaction(file, 0, tmp_path, _cut(events - 1)) as interaction:
        _, stream = _open(interaction)
        list(stream)

    attrs = one_span(span_exporter).attributes
    assert attrs["llmledger.usage.complete"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (input_tokens, output_tokens)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(micro_usd / 1e6, rel=1e-12)

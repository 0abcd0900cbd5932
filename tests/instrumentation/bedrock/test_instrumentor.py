# SPDX-License-Identifier: Apache-2.0
"""What an app sees of the Bedrock instrumentor: its calls unchanged, one span each, and nothing else touched."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import boto3
import pytest
from botocore.client import BaseClient, ClientCreator
from botocore.stub import Stubber
from urllib3.exceptions import ProtocolError
from wrapt import FunctionWrapper

from llmledger.instrumentation.bedrock import BedrockInstrumentor
from tests.cassette_replay import interactions
from tests.instrumentation import zero_code
from tests.instrumentation.bedrock import transport
from tests.instrumentation.bedrock.sdk_calls import arguments, call, cassette, client, only_interaction, send
from tests.instrumentation.features import needs
from tests.instrumentation.passthrough import raised_by, without_and_with

C = "bedrock/otel-contrib/botocore"
CONVERSE = f"{C}/test_converse_with_content.yaml"  # Titan Text Lite, 8 in / 10 out
INVOKE = f"{C}/test_invoke_model_with_content[anthropic.claude].yaml"  # Claude 2 (messages), 14 in / 10 out
INVALID = f"{C}/test_invoke_model_with_invalid_model.yaml"


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_bedrock"]
    assert entry.load() is BedrockInstrumentor
    assert BedrockInstrumentor().instrumentation_dependencies() == ("botocore >= 1.31.57, < 2",)


def test_instrumenting_imports_no_botocore_until_the_app_imports_it():
    code = """
        import json, sys
        from llmledger.instrumentation.bedrock import BedrockInstrumentor
        BedrockInstrumentor().instrument()
        before = sorted(m for m in ("boto3", "botocore", "genai_prices") if m in sys.modules)
        import boto3
        from botocore.client import BaseClient, ClientCreator
        hooks = [type(c.__dict__[m]).__name__ for c, m in ((BaseClient, "_make_api_call"),
                                                           (ClientCreator, "_create_api_method"))]
        print(json.dumps({"before": before, "hooks": hooks}))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"before": [], "hooks": ["FunctionWrapper"] * 2}


def test_uninstrumenting_restores_botocore(tracer_provider):
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert isinstance(BaseClient.__dict__["_make_api_call"], FunctionWrapper)
    assert isinstance(ClientCreator.__dict__["_create_api_method"], FunctionWrapper)
    instrumentor.uninstrument()
    assert not isinstance(BaseClient.__dict__["_make_api_call"], FunctionWrapper)
    assert not isinstance(ClientCreator.__dict__["_create_api_method"], FunctionWrapper)


def test_a_client_made_before_instrumenting_is_recorded_too(tracer_provider, span_exporter, tmp_path):
    with only_interaction(CONVERSE, 0, tmp_path) as interaction:
        bedrock = client()
        needs(bedrock, "converse")
        instrumentor = BedrockInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider)
        try:
            bedrock.converse(**arguments(interaction))
        finally:
            instrumentor.uninstrument()

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == 10


def test_a_client_made_while_instrumented_records_nothing_once_uninstrumented(tracer_provider, span_exporter, tmp_path):
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    bedrock = client()
    instrumentor.uninstrument()
    needs(bedrock, "converse")
    with only_interaction(CONVERSE, 0, tmp_path) as interaction:
        assert bedrock.converse(**arguments(interaction))["usage"]["outputTokens"] == 10

    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize("ours_first", [True, False], ids=["llmledger-first", "botocore-first"])
def test_beside_the_official_botocore_instrumentation_a_bedrock_call_has_one_span_and_other_services_keep_theirs(
    ours_first, tracer_provider, span_exporter, tmp_path
):
    """Installed or not (CI installs no peers): the official botocore instrumentation traces every AWS call, and
    gives Bedrock calls GenAI usage of its own; it leaves those llmledger records to llmledger's span, whichever
    of the two was instrumented first."""
    peer = pytest.importorskip("opentelemetry.instrumentation.botocore").BotocoreInstrumentor()
    ours = BedrockInstrumentor()
    for instrumentor in (ours, peer) if ours_first else (peer, ours):
        instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        with Stubber(s3) as stub:
            stub.add_response("list_buckets", {"Buckets": []})
            s3.list_buckets()
        with only_interaction(CONVERSE, 0, tmp_path) as interaction:
            call(interaction)
    finally:
        peer.uninstrument()
        ours.uninstrument()

    spans = span_exporter.get_finished_spans()
    assert sorted(span.name for span in spans) == ["S3.ListBuckets", "chat amazon.titan-text-lite-v1"]
    (llm,) = [span for span in spans if "gen_ai.usage.input_tokens" in span.attributes]
    assert llm.attributes["gen_ai.usage.cost"] > 0


def test_calls_of_other_services_pass_through_without_a_span(instrumented, span_exporter):
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {"Buckets": [{"Name": "logs"}]})
        assert s3.list_buckets()["Buckets"] == [{"Name": "logs"}]

    assert span_exporter.get_finished_spans() == ()


def test_other_bedrock_runtime_operations_pass_through_without_a_span(instrumented, span_exporter):
    bedrock = client()
    needs(bedrock, "list_async_invokes")
    with Stubber(bedrock) as stub:
        stub.add_response("list_async_invokes", {"asyncInvokeSummaries": []})
        assert bedrock.list_async_invokes()["asyncInvokeSummaries"] == []

    assert span_exporter.get_finished_spans() == ()


def test_an_invoke_model_body_reads_the_same_however_the_app_reads_it(tracer_provider, meter_provider, span_exporter):
    def read_every_way():
        with cassette(INVOKE, repeats=True):
            results = [send(interactions(INVOKE)[0]) for _ in range(3)]
        whole = results[0]["body"].read()
        lines = list(results[1]["body"].iter_lines())
        with results[2]["body"] as raw:  # a StreamingBody's `with` gives its raw stream
            chunks = [raw.read(7), raw.read()]
        return whole, lines, chunks, {k: v for k, v in results[0].items() if k != "body"}

    without, with_ = without_and_with(
        BedrockInstrumentor(), read_every_way, tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    assert with_ == without
    assert json.loads(with_[0])["usage"] == {"input_tokens": 14, "output_tokens": 10}
    assert len(span_exporter.get_finished_spans()) == 3


def test_an_error_response_reaches_the_app_unchanged_and_marks_the_span(
    tracer_provider, meter_provider, span_exporter, tmp_path
):
    def invoke():
        with only_interaction(INVALID, 0, tmp_path) as interaction:
            return raised_by(lambda: call(interaction))

    without, with_ = without_and_with(
        BedrockInstrumentor(), invoke, tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    assert with_ == without and with_.type.__name__ == "ValidationException"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "ValidationException"
    assert span.status.status_code.name == "ERROR"


def test_a_body_that_fails_part_way_fails_the_apps_read_as_it_would_have(
    tracer_provider, meter_provider, span_exporter
):
    """The connection drops after the first bytes of an `InvokeModel` body: the app's `read()` raises the error
    botocore raises for that, with or without llmledger, and the span records what the headers billed."""
    _, headers, body = transport.recorded(INVOKE, 0)

    def invoke():
        bedrock = client()
        bedrock.meta.events.register("before-send.bedrock-runtime.InvokeModel", _failing_reply(headers, body[:40]))
        result = bedrock.invoke_model(modelId="anthropic.claude-v2", body=b"{}")
        return raised_by(result["body"].read)

    without, with_ = without_and_with(
        BedrockInstrumentor(), invoke, tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    assert with_ == without and with_.type.__name__ == "ResponseStreamingError"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 14
    assert span.attributes["gen_ai.usage.output_tokens"] == 10
    assert "gen_ai.response.id" not in span.attributes  # the body never arrived whole


def _failing_reply(headers, head: bytes):
    from botocore.awsrequest import AWSResponse

    class Raw:
        def __init__(self) -> None:
            self.sent = False

        def read(self, amount=None):  # as urllib3's: a whole read fails; a sized one returns what came first
            if amount is None or self.sent:
                raise ProtocolError("Connection broken: IncompleteRead")
            self.sent = True
            return head

        def stream(self, **_):
            yield self.read()

    return lambda request, **_: AWSResponse(request.url, 200, headers, Raw())


def test_content_is_not_recorded_unless_asked(instrumented, span_exporter, tmp_path):
    with only_interaction(CONVERSE, 0, tmp_path) as interaction:
        call(interaction)

    (span,) = span_exporter.get_finished_spans()
    assert "gen_ai.input.messages" not in span.attributes
    assert "gen_ai.output.messages" not in span.attributes


@pytest.mark.parametrize(
    ("file", "said", "answered"),
    [(CONVERSE, "Say this is a test", "Hi, how can I help you"), (INVOKE, "Say this is a test", "This is a test")],
)
def test_content_is_recorded_when_asked(
    file, said, answered, monkeypatch, tracer_provider, meter_provider, span_exporter, tmp_path
):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        with only_interaction(file, 0, tmp_path) as interaction:
            call(interaction)
    finally:
        instrumentor.uninstrument()

    (span,) = span_exporter.get_finished_spans()
    assert said in span.attributes["gen_ai.input.messages"]
    assert answered in span.attributes["gen_ai.output.messages"]


def test_token_and_cost_metrics_are_recorded(instrumented, span_exporter, metric_reader, tmp_path):
    with only_interaction(CONVERSE, 0, tmp_path) as interaction:
        call(interaction)

    metrics = {
        metric.name: metric.data.data_points
        for resource in metric_reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        if scope.scope.name == "llmledger.instrumentation.bedrock"
        for metric in scope.metrics
    }
    tokens = {point.attributes["gen_ai.token.type"]: point.sum for point in metrics["gen_ai.client.token.usage"]}
    assert tokens == {"input": 8, "output": 10}
    assert {point.attributes["gen_ai.provider.name"] for point in metrics["gen_ai.client.operation.duration"]} == {
        "aws.bedrock"
    }
    (cost,) = metrics["llmledger.client.cost"]
    assert cost.value == pytest.approx((8 * 0.15 + 10 * 0.2) / 1e6)


def test_zero_code_under_opentelemetry_instrument_one_span_per_call(tmp_path):
    """`opentelemetry-instrument python app.py`, with OpenLLMetry's Bedrock instrumentor (`boto3`) switched off by
    name when installed (zero_code.PEERS); the official botocore instrumentation may stay on."""
    needs(client(), "converse")
    spans = zero_code.exported_spans(transport.zero_code_app(), tmp_path)

    assert [span["name"] for span in spans] == transport.ZERO_CODE_SPANS
    assert [span["attributes"]["gen_ai.usage.cost"] for span in spans] == pytest.approx(transport.ZERO_CODE_COSTS)
    assert {span["attributes"]["llmledger.price.source"] for span in spans} == {"genai-prices"}
    assert {span["attributes"]["gen_ai.provider.name"] for span in spans} == {"aws.bedrock"}

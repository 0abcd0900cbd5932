# SPDX-License-Identifier: Apache-2.0
"""An app handling one request: a root span around a non-LLM step and five OpenAI calls, all in one trace.

Run under `opentelemetry-instrument` against the replay server (`OPENAI_BASE_URL`), like demo/app.py. It writes the
trace id to stderr. With `--pause`, it flushes its spans after the first two calls, writes `flushed` to stderr and
waits for a line on stdin before the rest, so a test can restart the collector in the middle of the run.
"""

from __future__ import annotations

import sys

from openai import OpenAI
from opentelemetry import trace

QUESTION = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]


def main(pause: bool) -> None:
    client = OpenAI(max_retries=0)
    tracer = trace.get_tracer("llmledger.tests.traced_app")
    with tracer.start_as_current_span("handle-request") as root:
        print(format(root.get_span_context().trace_id, "032x"), file=sys.stderr, flush=True)
        with tracer.start_as_current_span("retrieve-context"):
            pass
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)  # prompt caching
        client.chat.completions.create(model="gpt-5-nano", messages=QUESTION)  # reasoning tokens
        if pause:
            provider = trace.get_tracer_provider()
            provider.force_flush()  # type: ignore[attr-defined]
            print("flushed", file=sys.stderr, flush=True)
            sys.stdin.readline()
        for _ in client.chat.completions.create(model="gpt-4", messages=QUESTION, stream=True):
            pass
        client.embeddings.create(model="text-embedding-ada-002", input="Tell me a joke")
        client.responses.create(model="gpt-4.1-nano", input="Tell me a joke")


if __name__ == "__main__":
    main(pause="--pause" in sys.argv[1:])

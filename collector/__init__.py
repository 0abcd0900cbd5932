# SPDX-License-Identifier: Apache-2.0
"""The llmledger collector: OTLP in, typed cost rows into ClickHouse, every request forwarded on.

    receivers/   OTLP/gRPC and OTLP/HTTP take a request and hand it to the pipeline (`otlp/`: the OTLP formats)
    pipeline/    `Pipeline.accept`: extract, drop re-sent spans, append to the durable queue (`queue/`), acknowledge
    extract/     the spans → rows of `llm_calls` (`llm_calls.py`: the row), Python reference and C fast path
    exporters/   read the queue: `clickhouse/` writes the rows (`writer.py`), `forward.py` sends requests on

`service.py` wires them together for `llmledger collector` (`cli.py`, `commands/`, `config.py`); `health.py` and
`exposition.py` serve /healthz, /readyz and /metrics; `budgets/` evaluates budgets against the stored rows.
"""

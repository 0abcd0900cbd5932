# SPDX-License-Identifier: Apache-2.0
"""Running an app with no telemetry code under `opentelemetry-instrument`, as a user would, and reading back the
spans it exported.

The child prints its spans with the console exporter; everything else it writes goes to stderr. Peer
instrumentors installed alongside (the bench extra has several) are switched off the way users do it, through
`OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`, so the test holds both with and without them installed (CI installs none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

# The names peer instrumentors register under (OpenLLMetry, the official contrib and genai packages, and
# OpenInference: `mistralai` is OpenLLMetry's and OpenInference's name for their Mistral instrumentors, `boto3`
# OpenLLMetry's Bedrock instrumentor). The official `botocore` instrumentation stays on: it traces every AWS service,
# and leaves the Bedrock calls llmledger records to llmledger's span (instrumentation/bedrock/_patch.py).
PEERS = "openai,anthropic,google-genai,google_generativeai,cohere,ollama,mistralai,boto3"


def exported_spans(app_source: str, tmp_path: Path, python: Path | None = None, **env: str) -> list[dict[str, Any]]:
    """Run `app_source` under `opentelemetry-instrument` (of `python`'s environment, by default this one's); the
    spans it exported, as the console exporter wrote them."""
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(app_source))
    python = python or Path(sys.executable)
    done = subprocess.run(
        [str(python.parent / "opentelemetry-instrument"), str(python), str(app)],
        env={
            **os.environ,
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_SERVICE_NAME": "zero-code",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": PEERS,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # opentelemetry-instrument puts the working directory first on the path, as an app's own
    )
    assert done.returncode == 0, done.stderr
    return _json_objects(done.stdout)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The console exporter writes one indented JSON object per span, one after another."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while (start := text.find("{", position)) >= 0:
        value, position = decoder.raw_decode(text, start)
        found.append(value)
    return found

# SPDX-License-Identifier: Apache-2.0
"""From a received request to records on disk: extract, drop re-sent spans, queue durably.

`pipeline.Pipeline.accept` takes one request on the receiver's thread and returns once it is durable; the
exporters then read the queue (`queue/`) for their records (`records`). Nothing is imported here, so that an
extraction worker (`extract_workers`) loads what it needs and not the exporters' dependencies.
"""

# SPDX-License-Identifier: Apache-2.0
"""OTLP receivers (gRPC and HTTP). Each parses a request, hands it to `Pipeline.accept`, and maps the outcome
to its protocol: success, partial success, a 4xx for bad input, or back-pressure with a retry hint."""

# SPDX-License-Identifier: Apache-2.0
"""OTLP plumbing the receivers, the extractor and the raw-span writer share: values, JSON, protobuf types."""

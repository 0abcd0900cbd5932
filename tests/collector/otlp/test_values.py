# SPDX-License-Identifier: Apache-2.0
"""Attribute values stringified as pdata's `Value.AsString()` (what the contrib ClickHouse exporter stores)."""

from __future__ import annotations

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from llmledger.collector.otlp.values import as_python, as_string


def _array(*values: AnyValue) -> AnyValue:
    return AnyValue(array_value=ArrayValue(values=list(values)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AnyValue(string_value="gpt-4o"), "gpt-4o"),
        (AnyValue(int_value=-42), "-42"),
        (AnyValue(bool_value=True), "true"),
        (AnyValue(bool_value=False), "false"),
        (AnyValue(double_value=0.25), "0.25"),
        (AnyValue(double_value=3.0), "3"),
        (AnyValue(double_value=1e-7), "1e-7"),
        (AnyValue(double_value=0.000001), "0.000001"),
        (AnyValue(double_value=1e21), "1e+21"),
        (AnyValue(double_value=123456789.5), "123456789.5"),
        (AnyValue(bytes_value=b"\x00\xff"), "AP8="),
        (AnyValue(), ""),
        (_array(AnyValue(string_value="a"), AnyValue(string_value="b")), '["a","b"]'),
        (_array(AnyValue(int_value=1), AnyValue(double_value=2.0), AnyValue(bool_value=True)), "[1,2,true]"),
        (_array(AnyValue(string_value="<&>")), '["\\u003c\\u0026\\u003e"]'),
        (
            AnyValue(
                kvlist_value=KeyValueList(
                    values=[
                        KeyValue(key="z", value=AnyValue(int_value=1)),
                        KeyValue(key="a", value=_array(AnyValue(string_value="é"))),
                    ]
                )
            ),
            '{"a":["é"],"z":1}',
        ),
    ],
)
def test_as_string_matches_pdata(value, expected):
    assert as_string(value) == expected


def test_as_python_keeps_types():
    assert as_python(_array(AnyValue(int_value=1), AnyValue(string_value="x"))) == [1, "x"]
    assert as_python(AnyValue(double_value=0.5)) == 0.5
    assert as_python(AnyValue()) is None

# SPDX-License-Identifier: Apache-2.0
"""The bytes-level attribute reader gives exactly what decoding the attributes gives, whatever their layout."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from llmledger.collector.extract.read_spans import read_encoded
from llmledger.collector.extract.values import read


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


ATTRIBUTES = [
    _kv("gen_ai.usage.input_tokens", AnyValue(int_value=1200)),
    _kv("gen_ai.usage.output_tokens", AnyValue(double_value=30.0)),
    _kv("gen_ai.request.model", AnyValue(string_value="gpt-4o")),
    _kv("gen_ai.response.finish_reasons", AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="stop")]))),
    _kv("gen_ai.request.stream", AnyValue(bool_value=True)),
    _kv("gen_ai.usage.cost", AnyValue(string_value="0.25")),
    _kv("llmledger.user_id", AnyValue()),  # empty: skipped
    _kv("llmledger.session_id", AnyValue(kvlist_value=KeyValueList(values=[_kv("a", AnyValue(int_value=1))]))),
    _kv("server.address", AnyValue(string_value="x" * 300)),  # unread, long
    _kv("k" * 200, AnyValue(string_value="unread, long key")),
    _kv("gen_ai.prompt.0.content", AnyValue(string_value="p" * 5000)),
    _kv("gen_ai.request.model", AnyValue(string_value="gpt-4o-mini")),  # a later duplicate wins
    _kv("", AnyValue(string_value="no key")),
    _kv("gen_ai.operation.name", AnyValue(string_value="c" * 150)),  # a wanted key with a long value
]


def test_read_encoded_is_read_of_the_decoded_attributes():
    encoded = [kv.SerializeToString() for kv in ATTRIBUTES]
    for _ in range(2):  # the second pass reads remembered encodings
        assert read_encoded(encoded) == read(ATTRIBUTES)


def test_fields_in_any_order_or_repeated_are_read_as_protobuf_reads_them():
    key = _kv("gen_ai.request.model", AnyValue()).SerializeToString()
    value = KeyValue(value=AnyValue(string_value="gpt-4o")).SerializeToString()
    unread_key = _kv("server.address", AnyValue()).SerializeToString()
    odd = [
        value + key,  # value first
        unread_key + value + key,  # an unread key, then a wanted one: the last key counts
        key + value + unread_key,  # a wanted key replaced by an unread one
        unread_key + unread_key,
    ]
    decoded = [KeyValue.FromString(encoding) for encoding in odd]
    for _ in range(2):
        assert read_encoded(odd) == read(decoded)
        for encoding, kv in zip(odd, decoded, strict=True):
            assert read_encoded([encoding]) == read([kv])


@pytest.mark.parametrize("number", [0, 1, 127, 128, 300, 2**32 - 1, 2**56, 2**63 - 1, -1, -(2**63)])
def test_integer_counts_of_every_width_read_as_protobuf_reads_them(number):
    kv = _kv("gen_ai.usage.input_tokens", AnyValue(int_value=number))
    extra = KeyValue(value=AnyValue(int_value=5)).SerializeToString()  # a second value after the first: it wins
    for encoding in (kv.SerializeToString(), kv.SerializeToString() + extra):
        assert read_encoded([encoding]) == read([KeyValue.FromString(encoding)])
    key = _kv("gen_ai.usage.input_tokens", AnyValue()).SerializeToString()
    two_ints = key + bytes([0x12, 4, 0x18, 5, 0x18, 7])  # one AnyValue holding int_value twice: the last counts
    assert read_encoded([two_ints]) == read([KeyValue.FromString(two_ints)]) == {"gen_ai.usage.input_tokens": 7}


@pytest.mark.parametrize("number", [0.0, -0.0, 3.0735e-4, 1e-300, 5e-324, 1.7976931348623157e308, float("inf"), -2.5])
def test_doubles_read_as_protobuf_reads_them(number):
    kv = _kv("gen_ai.usage.cost", AnyValue(double_value=number))
    extra = KeyValue(value=AnyValue(double_value=1.5)).SerializeToString()  # a second value after the first: it wins
    for encoding in (kv.SerializeToString(), kv.SerializeToString() + extra):
        found = read_encoded([encoding])
        assert found == read([KeyValue.FromString(encoding)])
        assert [type(value) for value in found.values()] == [float]
    nan = read_encoded([_kv("llmledger.cost.input", AnyValue(double_value=float("nan"))).SerializeToString()])
    assert nan["llmledger.cost.input"] != nan["llmledger.cost.input"]  # NaN, as protobuf reads it


@pytest.mark.parametrize(
    "text", ["", "resp-9f2c", "é" * 40, "x" * 125, "x" * 126, "y" * 300, "\u2028", "\U0001f600", "a\x00b"]
)
def test_strings_of_every_length_read_as_protobuf_reads_them(text):
    kv = _kv("gen_ai.response.id", AnyValue(string_value=text))
    extra = KeyValue(value=AnyValue(string_value="later")).SerializeToString()  # a second value: it wins
    for encoding in (kv.SerializeToString(), kv.SerializeToString() + extra):
        assert read_encoded([encoding]) == read([KeyValue.FromString(encoding)])


def test_a_string_that_is_not_utf8_is_refused_as_protobuf_refuses_it():
    encoding = _kv("gen_ai.response.id", AnyValue()).SerializeToString() + bytes([0x12, 4, 0x0A, 2, 0xC3, 0x28])
    with pytest.raises(DecodeError):
        KeyValue.FromString(encoding)
    with pytest.raises(DecodeError):
        read_encoded([encoding])

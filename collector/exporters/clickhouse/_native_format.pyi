# SPDX-License-Identifier: Apache-2.0
"""The C String column encoder (`_native_format.c`) as type checkers see it: they cannot read an extension module."""

from collections.abc import Sequence

def strings(values: Sequence[str], /) -> bytes: ...

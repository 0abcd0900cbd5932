# SPDX-License-Identifier: Apache-2.0
_instruments = ("anthropic >= 1.0.0, < 3",)

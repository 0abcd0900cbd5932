# SPDX-License-Identifier: Apache-2.0
_instruments = ("anthropic >= 0.40.0, < 3",)

# SPDX-License-Identifier: Apache-2.0
_instruments = ("openai >= 1.63.0, < 4",)

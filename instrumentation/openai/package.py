# SPDX-License-Identifier: Apache-2.0
_instruments = ("openai >= 1.40.0, < 4",)

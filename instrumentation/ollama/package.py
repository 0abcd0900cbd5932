# SPDX-License-Identifier: Apache-2.0
_instruments = ("ollama >= 0.4.0",)

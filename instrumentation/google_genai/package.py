# SPDX-License-Identifier: Apache-2.0
_instruments = ("google-genai >= 1.8.0",)

# SPDX-License-Identifier: Apache-2.0
_instruments = ("google-genai >= 1.0.0",)

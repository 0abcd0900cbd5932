# SPDX-License-Identifier: Apache-2.0
_instruments = ("cohere >= 5.0.0",)

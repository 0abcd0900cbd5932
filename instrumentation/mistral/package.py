# SPDX-License-Identifier: Apache-2.0
_instruments = ("mistralai >= 2.0.0",)

# SPDX-License-Identifier: Apache-2.0
_instruments = ("litellm >= 1.50.0, < 2",)

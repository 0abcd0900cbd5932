# SPDX-License-Identifier: Apache-2.0
"""What every provider shares: attribute names, usage, pricing, the span lifecycle and stream proxies."""

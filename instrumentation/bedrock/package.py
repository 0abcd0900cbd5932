# SPDX-License-Identifier: Apache-2.0
_instruments = ("botocore >= 1.31.57, < 2",)

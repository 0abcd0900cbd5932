# SPDX-License-Identifier: Apache-2.0
"""The end-to-end demo: a sample app, a loopback server replaying recorded provider traffic, and a runner."""

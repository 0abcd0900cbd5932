# SPDX-License-Identifier: Apache-2.0
"""Alerts where teams are: Slack, Teams and e-mail channels beside the generic webhook, and the spend-rate alert.

* `channels_for(budget_file)` — the channels the budget file names (`webhook`, `slack`, `teams`, `email`) as one
  `Channels`; `send(notice)` takes any notice with `message()` and `document()` (and `title()`, optionally):
  budget alerts, spend spikes, price changes.
* `SlackWebhook`, `TeamsWebhook`, `EmailAlerts` — one channel each.
* `SpendRateWatch` — the last hour's spend against a multiple of its trailing baseline, once per episode.
"""

from .channels import Channel, Channels, EmailAlerts, Notice, SlackWebhook, TeamsWebhook, channels_for, facts
from .spend_rate import SpendRateWatch, SpendSpike

__all__ = [
    "Channel",
    "Channels",
    "EmailAlerts",
    "Notice",
    "SlackWebhook",
    "SpendRateWatch",
    "SpendSpike",
    "TeamsWebhook",
    "channels_for",
    "facts",
]

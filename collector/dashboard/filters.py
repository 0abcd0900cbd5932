# SPDX-License-Identifier: Apache-2.0
"""What a dashboard view shows: the view, the period and the tenant, service and feature filters, as read from
the page's URL (`?view=traces&days=7&tenant=acme`), so that a view can be shared by its link. The page asks for
a view in parts (`part=head`, then `part=<section>` for each section), so it draws what is ready first.

Every value is checked here, before any SQL is run, and a bad one is a `BadFilter` naming the parameter and
what it accepts; the values reach ClickHouse only as bound query parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

# The sections each view shows, in page order; the totals and the filters' choices come with every view.
SECTIONS: dict[str, tuple[str, ...]] = {
    "overview": ("spend_over_time", "spend_by_model", "spend_by_provider"),
    "breakdown": ("spend_by_service", "spend_by_feature", "spend_by_user", "spend_by_tenant"),
    "tokens": ("token_mix", "cache_savings"),
    "quality": ("unpriced", "usage_missing", "failed_calls"),
    "budgets": ("budgets", "budget_burn"),
    "traces": ("trace_costs", "top_calls"),
}
VIEWS = tuple(SECTIONS)
DAYS = (1, 7, 30, 90)
MAX_DAYS = 800  # the rollups' TTL
MAX_VALUE_LENGTH = 256


class BadFilter(ValueError):
    """A URL parameter the dashboard cannot use; the message names it and what it takes."""


@dataclass(frozen=True, slots=True)
class Filters:
    view: str = "overview"
    days: int = 7
    tenant: str = ""
    service: str = ""
    feature: str = ""
    part: str = ""  # "" the whole view, "head" its totals and choices, or one of its sections

    @property
    def bucket_hours(self) -> int:
        """The width of a point of the over-time charts: an hour over a day, six over a week or two, else a day."""
        return 1 if self.days <= 2 else 6 if self.days <= 14 else 24

    def params(self) -> dict[str, str]:
        """The named queries' parameters for these filters, as text (as `NamedQuery.bind` takes them)."""
        return {"days": str(self.days), "tenant": self.tenant, "service": self.service, "feature": self.feature}

    def document(self) -> dict[str, object]:
        return {
            "view": self.view,
            "days": self.days,
            "tenant": self.tenant,
            "service": self.service,
            "feature": self.feature,
            "bucket_hours": self.bucket_hours,
        }


def parse(query: str | Mapping[str, str]) -> Filters:
    """`Filters` from a URL query string (or a mapping of the same names); BadFilter for anything unusable."""
    if isinstance(query, str):
        parsed = parse_qs(query, keep_blank_values=True)
        repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
        if repeated:
            raise BadFilter(f"parameter {repeated[0]} is given more than once")
        values = {name: found[0] for name, found in parsed.items()}
    else:
        values = dict(query)
    known = {"view", "days", "tenant", "service", "feature", "part"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BadFilter(f"unknown parameter {unknown[0]!r} (the dashboard takes: {', '.join(sorted(known))})")
    view = values.get("view", "") or "overview"
    if view not in VIEWS:
        raise BadFilter(f"view={view!r} is not one of {', '.join(VIEWS)}")
    text = values.get("days", "") or "7"
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise BadFilter(f"days={text!r} is not a whole number of days from 1 to {MAX_DAYS}")
    for name in ("tenant", "service", "feature"):
        if len(values.get(name, "")) > MAX_VALUE_LENGTH:
            raise BadFilter(f"{name} is longer than {MAX_VALUE_LENGTH} characters")
    part = values.get("part", "")
    if part not in ("", "head", *SECTIONS[view]):
        raise BadFilter(f"part={part!r} is not head or a section of view {view} ({', '.join(SECTIONS[view])})")
    tenant, service, feature = (values.get(name, "") for name in ("tenant", "service", "feature"))
    return Filters(view, int(text), tenant, service, feature, part)

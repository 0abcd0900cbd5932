# SPDX-License-Identifier: Apache-2.0
"""Where a per-token price comes from: the user's override file first, then genai-prices' data.

Both sources are offline: genai-prices' data is the snapshot bundled with it or a data file `llmledger prices
refresh` took (`price_data` says which). It costs a few hundred milliseconds to load, so it is loaded on the first
lookup (or warmed in a background thread by an instrumentor), never at import time.

A call pays the price in force at the instant it started, time-of-day prices included (DeepSeek's off-peak
hours). Lookups are cached per (provider, model, period): the data's `price_data.Calendar` cuts each UTC day
wherever a price in it changes, so one cached price holds for its whole period and a lookup stays one cache
probe, never a genai-prices calculation.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import bedrock_ids, documents, price_data
from .price_data import PriceData

_log = logging.getLogger(__name__)

PRICES_FILE_ENV = "LLMLEDGER_PRICES_FILE"
WARM_UP_THREAD = "llmledger-prices-warmup"


@dataclass(frozen=True, slots=True)
class Tiered:
    """A whole-request tier: once the request's input exceeds `start` tokens, every token pays `price`."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...]

    def at(self, input_tokens: int) -> Decimal:
        for start, price in reversed(self.tiers):
            if input_tokens > start:
                return price
        return self.base


Rate = Decimal | Tiered


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens of each kind, with where the numbers came from.

    `model` is the model id the price was found under: genai-prices' id of the call's model (a dated snapshot
    name is priced under its model's id), whichever source priced it, else the call's model as it named it. An
    override entry's `pattern` (a glob or `re:` pattern, as written in the file) is only where the price came
    from and never names a model, so a call groups under the same model whether the file or genai-prices
    priced it.
    """

    provider: str
    model: str
    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    cache_write_1h: Rate | None = None
    source: str = "genai-prices"
    version: str = ""
    variant: str = ""  # the price variant in force, e.g. "service_tier=flex"; "" for standard prices
    id: str = field(default="", compare=False)
    pattern: str = ""  # the override entry's model pattern ('' for genai-prices): provenance, not a model name
    # USD per search unit, for calls billed by the search (Cohere's rerank: one query over up to 100 documents);
    # None where the price says nothing of searches, and a call billed in them is then unpriced.
    search_unit: Decimal | None = None


class PriceFileError(ValueError):
    """The override file cannot be used; the message names the file and says where (line and column, or the
    entry) and why. Callers name the variable that chose the file (`describe`)."""


def describe(error: PriceFileError) -> str:
    """`error` as users read it: the variable that named the file first, e.g.
    ``LLMLEDGER_PRICES_FILE=prices.yaml, line 3, column 5: not valid YAML: …``."""
    return f"{PRICES_FILE_ENV}={error}"


_NS_PER_DAY = price_data.NS_PER_DAY
_in_force = price_data._chosen  # read directly on the hot path: a function call costs more than the check
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------------------------------------
# Provider names: semconv `gen_ai.provider.name` → genai-prices provider id. Self-hosted endpoints
# (vLLM, Ollama) have no per-token price unless the user's file gives one, nor do models deployed on one's own
# cloud instances (SageMaker, OCI's dedicated clusters), which are billed by the hour.
_GENAI_PRICES_PROVIDER: Mapping[str, str | None] = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "groq": "groq",
    "deepseek": "deepseek",
    "together": "together",
    "together_ai": "together",
    "openrouter": "openrouter",
    "mistral_ai": "mistral",
    "cohere": "cohere",
    "x_ai": "x-ai",
    "perplexity": "perplexity",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "moonshot_ai": "moonshotai",
    "vllm": None,
    "ollama": None,
    "aws.sagemaker": None,
    "oci.generative_ai": None,
}


def is_provider(name: str) -> bool:
    """Whether `name` is a `gen_ai.provider.name` the lookup knows (to tell `openai:gpt-4o` from a model id with a
    colon in it, such as Bedrock's `…-v1:0`)."""
    return name in _GENAI_PRICES_PROVIDER


def lookup(provider: str, model: str, when: datetime | None = None) -> ModelPrice | None:
    """The price of `model` at `provider` at the instant `when` (default: now), or None when nobody knows it."""
    since = (when or datetime.now(UTC)).astimezone(UTC) - _EPOCH  # exact: a float timestamp can miss an instant
    return lookup_ns(provider, model, (since.days * 86_400 + since.seconds) * 10**9 + since.microseconds * 1000)


Variant = tuple[tuple[str, str], ...]  # what selects a price variant, e.g. (("service_tier", "flex"),)


def lookup_ns(provider: str, model: str, unix_ns: int, variant: Variant = ()) -> ModelPrice | None:
    """`lookup` for a Unix time in nanoseconds, as spans carry it: the hot path, one cache probe.

    `variant` names what the response said about how it was served (a service tier, batch processing), which
    genai-prices prices differently where the provider does; the user's override file applies to all variants.
    """
    data = _in_force[0] or price_data.in_force()
    start, end, period = data.recent[0]  # `data.period_of`, its common case inlined
    if not start <= unix_ns < end:
        period = data.period_of(unix_ns)
    return _lookup(provider, model, period, data, _overrides_key(), variant)


def price_period(unix_ns: int) -> int:
    """The period of the instant `unix_ns` in the data in force: within one, every lookup gives one price, so a
    caller's cache of lookups may be keyed by it (the collector's, per request)."""
    return (_in_force[0] or price_data.in_force()).period_of(unix_ns)


def day_periods(unix_ns: int) -> tuple[int, ...]:
    """The start (Unix ns) of each period of the UTC day that holds `unix_ns`: every price that day is the price
    at one of these instants."""
    calendar = price_data.in_force().calendar
    day_start = unix_ns // _NS_PER_DAY * _NS_PER_DAY
    first = calendar.period(day_start)
    return tuple(calendar.bounds(period)[0] for period in range(first, first + len(calendar.cuts) + 1))


@lru_cache(maxsize=4096)
def _lookup(
    provider: str,
    model: str,
    period: int,
    data: PriceData,
    overrides_key: tuple[str, float] | None,
    variant: Variant = (),
) -> ModelPrice | None:
    asked, model = model, model.lower()
    start_ns = data.calendar.bounds(period)[0]
    when = _EPOCH + timedelta(microseconds=start_ns // 1000)  # any instant of the period: its price is one
    if overrides_key is not None:
        for entry in _load_overrides(*overrides_key):
            if entry.matches(provider, model, when.date()):
                known = _find(provider, model, data)
                return entry.price_of(known[1].id if known is not None else asked)
    return _from_genai_prices(provider, model, when, variant, data)


def warm() -> None:
    """Load genai-prices' data now, so the first priced call does not pay for it.

    The package, and all it imports (pydantic; httpx2 for its updater), is imported here in the caller's thread;
    only the data is built in a daemon thread. A module imported in another thread is visible half-made in
    `sys.modules` meanwhile, and SDKs look there for optional HTTP stacks: openai's client reads
    `sys.modules.get("httpx2")`, so a warm-up importing httpx2 beside it failed the app's own `OpenAI()` with
    "partially initialized module 'httpx2' has no attribute 'URL'".
    """
    import genai_prices  # noqa: F401  (see above: imported here, never in the warm-up thread)

    threading.Thread(target=price_data.in_force, name=WARM_UP_THREAD, daemon=True).start()


def _find(provider: str, model: str, data: PriceData) -> tuple[Any, Any] | None:
    """genai-prices' (provider, model info) for a lower-case `model` at a semconv `provider`; None when unknown."""
    if provider in _GENAI_PRICES_PROVIDER:
        provider_id = _GENAI_PRICES_PROVIDER[provider]
        if provider_id is None:
            return None
    else:
        provider_id = None  # an unknown OpenAI-compatible host: match the model across providers
    # A Bedrock inference profile genai-prices does not list is priced as its model (`bedrock_ids`).
    for candidate in bedrock_ids.priced_ids(model) if provider == "aws.bedrock" else (model,):
        try:
            found: tuple[Any, Any] = data.snapshot.find_provider_model(candidate, None, provider_id, None)
        except LookupError:
            continue
        return found
    return None


def _from_genai_prices(
    provider: str, model: str, when: datetime, variant: Variant, data: PriceData
) -> ModelPrice | None:
    found = _find(provider, model, data)
    if found is None:
        return None
    found_provider, info = found
    prices = info.get_prices(when, dict(variant) if variant else None)
    standard = info.get_prices(when) if variant else prices
    input_rate = _rate(getattr(prices, "input_mtok", None))
    output_rate = _rate(getattr(prices, "output_mtok", None))
    if input_rate is None and output_rate is None:
        return None  # priced per request, image or second only: not a token price we can apply honestly
    cache_write = _rate(getattr(prices, "cache_write_mtok", None))
    return _with_id(
        ModelPrice(
            provider=found_provider.id,
            model=info.id,
            input=input_rate if input_rate is not None else Decimal(0),
            output=output_rate if output_rate is not None else Decimal(0),
            cache_read=_rate(getattr(prices, "cache_read_mtok", None)),
            cache_write=cache_write,
            cache_write_1h=_rate(getattr(prices, "cache_write_1h_mtok", None)),
            source="genai-prices",
            version=data.version,
            variant=",".join(f"{k}={v}" for k, v in variant) if prices != standard else "",
        )
    )


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None)
    if isinstance(base, Decimal) and tiers is not None:
        return Tiered(base, tuple((int(t.start), Decimal(t.price)) for t in tiers))
    return None


def _with_id(price: ModelPrice) -> ModelPrice:
    digest = hashlib.sha1(
        repr(
            (
                price.provider,
                price.model,
                price.input,
                price.output,
                price.cache_read,
                price.cache_write,
                price.cache_write_1h,
                price.source,
                price.version,
                price.variant,
                price.search_unit,
            )
        ).encode()
    )
    return ModelPrice(**{**{f: getattr(price, f) for f in price.__dataclass_fields__}, "id": digest.hexdigest()[:16]})


# ---------------------------------------------------------------------------------------------------------
# The user's override file.


@dataclass(frozen=True, slots=True)
class _Override:
    provider: str | None
    pattern: re.Pattern[str]
    valid_from: date
    price: ModelPrice

    def matches(self, provider: str, model: str, day: date) -> bool:
        return (
            (self.provider is None or self.provider == provider)
            and day >= self.valid_from
            and self.pattern.fullmatch(model) is not None
        )

    def price_of(self, model: str) -> ModelPrice:
        """The entry's price for a call to `model` (genai-prices' id of it, or its name as the call gave it):
        found under that model, the pattern kept as provenance.

        The id stays the entry's, so every model one entry prices points at one row of `llm_model_prices`.
        """
        return replace(self.price, model=model)


_CHECK_INTERVAL_NS = 2 * 10**9
_override_state: list[Any] = [None, None, None]  # path, monotonic ns of the last look (None: never), key
_unreadable: list[str | None] = [None]  # the last unreadable file warned about: warned once, not every look


def _overrides_key() -> tuple[str, float] | None:
    """Which override file is in force: the variable and the file's mtime are looked at most every two seconds.

    Every priced call asks, so the answer is kept in between: reading an unset variable from `os.environ` alone
    costs about 1% of an instrumented call (a KeyError raised and caught), and a stat() more.
    """
    state = _override_state
    now = time.monotonic_ns()
    if state[1] is not None and now - state[1] < _CHECK_INTERVAL_NS:
        return state[2]  # type: ignore[no-any-return]
    path = os.environ.get(PRICES_FILE_ENV)
    key: tuple[str, float] | None = None
    if path:
        try:
            key = (path, os.stat(path).st_mtime)
        except OSError as error:
            if _unreadable[0] != path:
                _log.error(
                    "%s=%s cannot be read (%s); pricing with genai-prices only until it can",
                    PRICES_FILE_ENV,
                    path,
                    error.strerror,
                )
            _unreadable[0] = path
        else:
            _unreadable[0] = None
    _override_state[:] = [path, now, key]
    return key


def reload() -> None:
    """Look at ``LLMLEDGER_PRICES_FILE`` and the file it names again at the next lookup, not up to 2 s later, and
    choose genai-prices' data again (``LLMLEDGER_PRICES_DATA``, the data directory: `price_data`)."""
    _override_state[1] = None
    price_data.forget()


@lru_cache(maxsize=8)
def _load_overrides(path: str, _mtime: float) -> tuple[_Override, ...]:
    try:
        return load_price_file(Path(path))
    except PriceFileError as error:
        _log.error("%s; pricing with genai-prices only until the file is fixed", describe(error))
        return ()


def load_price_file(path: Path) -> tuple[_Override, ...]:
    """Parse an override file; entries valid from a later date come first, so the newest price wins.

    Format (YAML or JSON)::

        prices:
          - provider: openai          # optional: any provider when absent
            model: "gpt-4o*"          # glob, or "re:<regex>"; matched case-insensitively
            valid_from: 2025-01-01    # optional
            input: 2.50               # USD per million tokens
            output: 10.00
            cache_read: 1.25          # optional, like cache_write and cache_write_1h
          - provider: cohere
            model: "rerank-*"
            search_unit: 0.002        # USD per search unit; input and output may then be left out
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PriceFileError(f"{path}: cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise PriceFileError(f"{path}, byte {error.start + 1}: not UTF-8 text") from error
    document = _parse(path, text)
    entries = document.get("prices") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise PriceFileError(f"{path}: expected a list of prices (or a mapping with a 'prices' list)")
    version = f"{path.name}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"
    parsed = [_parse_entry(entry, index, path, version) for index, entry in enumerate(entries)]
    return tuple(sorted(parsed, key=lambda o: o.valid_from, reverse=True))


def _parse(path: Path, text: str) -> Any:
    """The document in `text`, JSON when the name ends in .json, else YAML; a syntax error says where it is."""
    try:
        return documents.parse(text, json_text=path.suffix.lower() == ".json")
    except documents.DocumentError as error:
        raise PriceFileError(f"{path}, {error}" if str(error).startswith("line ") else f"{path}: {error}") from error


def _parse_entry(entry: object, index: int, path: Path, version: str) -> _Override:
    where = f"{path}: entry {index}"
    if not isinstance(entry, dict):
        raise PriceFileError(f"{where}: expected a mapping, got {type(entry).__name__}")
    model = entry.get("model")
    if not isinstance(model, str) or not model:
        raise PriceFileError(f"{where}: 'model' must be a non-empty string")
    pattern = model[3:] if model.startswith("re:") else fnmatch.translate(model)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise PriceFileError(f"{where}: bad model pattern {model!r}: {error}") from error
    valid_from = entry.get("valid_from", date.min)
    if isinstance(valid_from, datetime):
        valid_from = valid_from.date()
    elif isinstance(valid_from, str):
        try:
            valid_from = date.fromisoformat(valid_from)
        except ValueError as error:
            raise PriceFileError(f"{where}: valid_from {valid_from!r} is not a date (YYYY-MM-DD)") from error
    if not isinstance(valid_from, date):
        raise PriceFileError(f"{where}: valid_from must be a date")
    rates = {key: _decimal(entry.get(key), key, where) for key in _RATE_KEYS}
    search_unit = _decimal(entry.get("search_unit"), "search_unit", where)
    if search_unit is not None:
        # A price per search: tokens the response may also report are not billed unless the entry says so.
        rates["input"] = Decimal(0) if rates["input"] is None else rates["input"]
        rates["output"] = Decimal(0) if rates["output"] is None else rates["output"]
    if rates["input"] is None or rates["output"] is None:
        raise PriceFileError(
            f"{where}: 'input' and 'output' (USD per million tokens) are required, or 'search_unit' (USD per search)"
        )
    provider = entry.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise PriceFileError(f"{where}: 'provider' must be a string")
    price = _with_id(
        ModelPrice(
            provider=provider or "*",
            model=model,
            input=rates["input"],
            output=rates["output"],
            cache_read=rates["cache_read"],
            cache_write=rates["cache_write"],
            cache_write_1h=rates["cache_write_1h"],
            source="override",
            version=version,
            pattern=model,
            search_unit=search_unit,
        )
    )
    return _Override(provider if provider not in (None, "*") else None, compiled, valid_from, price)


_RATE_KEYS: Sequence[str] = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


def _decimal(value: object, key: str, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise PriceFileError(f"{where}: '{key}' must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise PriceFileError(f"{where}: '{key}' must be a number, got {value!r}") from error
    if not number.is_finite() or number < 0:
        raise PriceFileError(f"{where}: '{key}' must be a finite number ≥ 0")
    return number

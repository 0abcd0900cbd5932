# SPDX-License-Identifier: Apache-2.0
"""The one base of llmledger's instrumentors: activate per SDK, patch when the SDK is imported.

Two rules make a first run work with whatever the app has installed:

- **Each instrumentor checks its own SDK.** `opentelemetry-instrument` checks a distribution's `instruments`
  extra as a whole and then loads its entry points with `skip_dep_check=True`. One distribution serves several
  SDKs here, so the distribution declares them as `instruments-any` (any one of them lets the entry points load)
  and each instrumentor checks its own range in `_instrument`. An SDK that is not installed is nothing to
  instrument and is logged at DEBUG; one installed outside the supported range is skipped with a WARNING that
  names the installed and the supported versions.
- **Nothing is imported before the app imports it.** `_instrument` only registers a post-import hook on the SDK's
  top-level module (`wrapt.register_post_import_hook`, which runs at once when the module is already imported).
  The provider's patching module, the shared span machinery and the price data load in that hook, so an app
  that never imports an SDK pays for none of it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from types import ModuleType
from typing import Any, ClassVar

from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from wrapt import register_post_import_hook

_log = logging.getLogger(__name__)


class SdkInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments one LLM SDK once it is imported. Subclasses name the SDK and their patching module.

    The patching module has two functions: `patch(telemetry, config)` wraps the SDK, `unpatch()` restores it.
    `BaseInstrumentor` keeps one instance per class, so the state below is the instrumentor's, process-wide.
    """

    instruments: ClassVar[tuple[str, ...]]  # the supported range, as a requirement ("openai >= 1.40.0, < 4")
    sdk_module: ClassVar[str]  # the SDK's top-level module ("openai", "google.genai")
    patcher: ClassVar[str]  # the module that wraps the SDK, imported only once the SDK is ("….openai._patch")
    scope: ClassVar[str]  # the instrumentation scope of the spans and metrics

    _generation = 0  # which instrument() call a pending import hook belongs to
    _patched: ModuleType | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.instruments

    def _instrument(self, **kwargs: Any) -> None:
        conflict = get_dependency_conflicts(self.instruments)
        if conflict is not None:
            if conflict.found:
                _log.warning("llmledger: %s is not instrumented: %s", self.scope, conflict)
            else:
                _log.debug("llmledger: %s has nothing to instrument: %s", self.scope, conflict)
            return
        self._generation += 1
        generation = self._generation
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")

        def on_import(_module: ModuleType) -> None:
            if generation == self._generation:
                self._patch(tracer_provider, meter_provider)

        register_post_import_hook(on_import, self.sdk_module)

    def _patch(self, tracer_provider: Any, meter_provider: Any) -> None:
        try:
            from llmledger._core import prices

            from .config import Config
            from .telemetry import Telemetry

            config = Config.from_env()
            telemetry = Telemetry.create(self.scope, tracer_provider, meter_provider, config)
            patcher = importlib.import_module(self.patcher)
            patcher.patch(telemetry, config)
            self._patched = patcher
            prices.warm()
        except Exception:  # an import hook must never fail the app's own import of its SDK
            _log.exception("llmledger: could not instrument %s", self.sdk_module)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._generation += 1  # a hook still waiting for the SDK's import stays a no-op
        patcher, self._patched = self._patched, None
        if patcher is not None:
            patcher.unpatch()

# SPDX-License-Identifier: Apache-2.0
"""Maps the repository's top-level folders onto the one `llmledger` package.

The folders `instrumentation/`, `collector/` and `schemas/` are the architecture; installed, they are
`llmledger.instrumentation`, `llmledger.collector` and `llmledger.schemas`, so no bare `instrumentation`
package lands in site-packages. The folder `llmledger/` is the package itself: a light public API
(`llmledger.attributes`, `llmledger.budgets`, `llmledger.BudgetExceeded`) over the three. pyproject.toml
cannot express a prefix-adding mapping of whole trees, so the package list is computed here; everything else
lives in pyproject.toml.

The three C extensions, the collector's span reader (`collector/extract/_read_spans.c`), row builder
(`collector/extract/_build_rows.c`) and Native String encoder (`collector/exporters/clickhouse/_native_format.c`)
are optional: without a C compiler the install still succeeds and the collector uses the Python they accelerate.
"""

from setuptools import Extension, find_namespace_packages, setup

_FOLDERS = {
    "instrumentation": "llmledger.instrumentation",
    "collector": "llmledger.collector",
    "schemas": "llmledger.schemas",
}

packages: list[str] = ["llmledger"]
packages += [f"llmledger.{sub}" for sub in find_namespace_packages("llmledger", exclude=["*__pycache__*"])]
package_dir: dict[str, str] = {"llmledger": "llmledger"}
for folder, name in _FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(
    packages=packages,
    package_dir=package_dir,
    ext_modules=[
        Extension(
            "llmledger.collector.extract._read_spans",
            ["collector/extract/_read_spans.c"],
            depends=["collector/otlp/protowire.h"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(
            "llmledger.collector.extract._build_rows",
            ["collector/extract/_build_rows.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(
            "llmledger.collector.otlp._wire",
            ["collector/otlp/_wire.c"],
            depends=["collector/otlp/protowire.h"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(
            "llmledger.collector.exporters.clickhouse._native_format",
            ["collector/exporters/clickhouse/_native_format.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
    ],
    package_data={
        "llmledger.schemas": ["README.md", "migrations/*.sql", "queries/*.sql"],
        "llmledger.collector.dashboard": ["static/*"],
    },
)

# SPDX-License-Identifier: Apache-2.0
"""Maps the repository's top-level folders onto the one `llmledger` namespace.

The folders `instrumentation/`, `collector/` and `schemas/` are the architecture; installed, they are
`llmledger.instrumentation`, `llmledger.collector` and `llmledger.schemas`, so no bare `instrumentation`
package lands in site-packages. pyproject.toml cannot express a prefix-adding mapping of whole trees,
so the package list is computed here; everything else lives in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

_FOLDERS = {
    "instrumentation": "llmledger.instrumentation",
    "collector": "llmledger.collector",
    "schemas": "llmledger.schemas",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder, name in _FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={"llmledger.schemas": ["*.sql", "**/*.sql", "*.yaml", "**/*.yaml", "*.md", "**/*.json"]},
)

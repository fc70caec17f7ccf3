"""Release tooling: the dependency locks, the vulnerability audit, the SBOM and licence inventory.

Not part of the installed service (see `[tool.setuptools.packages.find]`); run from the repository
root with `python -m release.<module>` (the Makefile does).
"""

"""Litestar 3 resolves handler parameters only from explicit markers (NamedDependency, FromPath,
FromQuery / QueryParameter, JSONBody); Litestar 2 still infers them but warns. The suite used to hide
those warnings with a filter; now building the whole app must not give a single one, so the upgrade
will not change what any endpoint reads."""

from __future__ import annotations

import warnings

import pytest

from api.app import create_app
from domain.settings import Settings


@pytest.mark.parametrize("backend", ["sqlite"])  # how handlers are declared does not depend on the database
def test_every_handler_declares_its_parameters_explicitly(settings: Settings) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = create_app(settings)
        app.openapi_schema  # noqa: B018  (building the document resolves every handler's signature)
    deprecations = sorted({str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)})
    assert deprecations == []

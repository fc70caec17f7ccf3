"""Every asset ships with the project: neither the console nor the API docs load anything from
another host (closed municipal networks), and what they reference is served."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import sign_in

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"']+\.(?:js|css|png))["']""")


async def assert_self_contained(client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    html = response.text
    assert not EXTERNAL.search(html), f"{path} loads from another host"
    assert "fonts.googleapis" not in html and "cdn." not in html and "unpkg" not in html
    assets = LOCAL_ASSET.findall(html)
    assert assets, path
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100, asset


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema/redoc"])
async def test_api_docs_load_vendored_scripts_only(client, path):
    await assert_self_contained(client, path)


async def test_api_docs_that_would_need_a_cdn_are_not_served(client):
    for path in ("/schema/rapidoc", "/schema/elements", "/schema/scalar"):
        assert (await client.get(path)).status_code == 404, path
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert not [path for path in schema.json()["paths"] if path == "/" or path.startswith("/console")]


async def test_console_pages_load_vendored_scripts_only(client, world):
    await assert_self_contained(client, "/console/sign-in")
    await sign_in(client, "coord")
    await assert_self_contained(client, "/console")
    htmx = await client.get("/console/static/vendor/htmx/htmx.min.js")
    assert b'version:"2.0.11"' in htmx.content.replace(b" ", b"")

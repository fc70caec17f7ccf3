"""release/markers.py converts a handler written in the inferred style (what branches started before
the explicit markers still carry) into one Litestar builds without a deprecation warning."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from release.markers import rewrite

OLD_STYLE = '''"""A handler as written before the markers."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import Parameter
from pydantic import BaseModel


class NoteIn(BaseModel):
    text: str


class NoteController(Controller):
    path = "/residents/{resident_id:str}/notes"

    @post("/{kind:str}")
    async def add(
        self,
        principal: str,
        resident_id: str,
        kind: str,
        data: NoteIn,
        tag: str | None = None,
        limit: int = Parameter(default=5, ge=1, le=10),
        day: str | None = Parameter(query="from", default=None),
    ) -> dict[str, object]:
        return {"who": principal, "resident": resident_id, "kind": kind, "text": data.text,
                "tag": tag, "limit": limit, "from": day}
'''


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location("markers_sample", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["markers_sample"] = module
    spec.loader.exec_module(module)
    return module


def _app(module: object) -> tuple[Litestar, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = Litestar(
            [module.NoteController],  # type: ignore[attr-defined]
            dependencies={"principal": Provide(lambda: "coord", sync_to_thread=False)},
        )
    return app, [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


def test_an_old_style_handler_is_rewritten_and_reads_the_same(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(OLD_STYLE, encoding="utf-8")
    assert rewrite(source) == []
    text = source.read_text(encoding="utf-8")
    assert "principal: NamedDependency[str]" in text
    assert "resident_id: FromPath[str]" in text and "data: JSONBody[NoteIn]" in text
    assert "tag: FromQuery[str | None] = None" in text
    assert 'day: Annotated[str | None, QueryParameter(name="from")] = None' in text
    app, deprecations = _app(_load(source))
    assert deprecations == []
    with TestClient(app) as client:
        response = client.post(
            "/residents/r1/notes/visit?tag=t&limit=3&from=2026-12-01", json={"text": "元気"}
        )
    assert response.json() == {
        "who": "coord",
        "resident": "r1",
        "kind": "visit",
        "text": "元気",
        "tag": "t",
        "limit": 3,
        "from": "2026-12-01",
    }


def test_what_it_cannot_convert_is_named(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        OLD_STYLE.replace("limit: int = Parameter(default=5, ge=1, le=10)", "limit: int = Parameter(ge=1)"),
        encoding="utf-8",
    )
    left = rewrite(source)
    assert len(left) == 1 and "limit" in left[0]

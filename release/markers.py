"""`python -m release.markers FILE...`: rewrite route handlers and dependency providers to the
explicit parameter markers Litestar 3 requires (Litestar 2.23+ has them and warns without them):

    db_session: AsyncSession                    -> db_session: NamedDependency[AsyncSession]
    data: ResidentIn                            -> data: JSONBody[ResidentIn]
    resident_id: str      (in the route's path) -> resident_id: FromPath[str]
    status: Status | None = None                -> status: FromQuery[Status | None] = None
    q: str = Parameter(default="", max_length=9) -> q: Annotated[str, QueryParameter(max_length=9)] = ""

For code written in the inferred style on a branch that predates the change: the test suite turns
Litestar's deprecation warnings into errors (pyproject.toml). Run `ruff check --fix` and
`ruff format` afterwards (imports are added at the top, unsorted). What it cannot convert (a
Parameter without default, positional arguments, a path parameter with a default, a
module-level Parameter(...) constant) it names on stderr, to be done by hand.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

# Names the app provides (api/app.py, console/routes.py and the SQLAlchemy plugin's db_session).
DEPENDENCIES = {"db_session", "principal", "settings", "pagination"}
RESERVED = {"self", "cls", "request", "socket", "state", "scope", "headers", "cookies", "query", "body"}
DECORATORS = {"get", "post", "put", "patch", "delete", "route", "websocket"}
PROVIDERS = {"provide_principal", "provide_pagination", "provide_console_principal", "provide_settings"}
MARKED = (
    "Annotated[",
    "NamedDependency[",
    "FromPath[",
    "FromQuery[",
    "FromHeader[",
    "FromCookie[",
    "JSONBody[",
)
PARAMETER_KINDS = {"query": "QueryParameter", "header": "HeaderParameter", "cookie": "CookieParameter"}
IMPORTS = {
    "Annotated": "from typing import Annotated",
    "NamedDependency": "from litestar.di import NamedDependency",
}


class _Source:
    """The file as UTF-8 bytes: ast column offsets count bytes, not characters."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.starts = [0]
        for line in self.data.split(b"\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)

    def span(self, node: ast.expr) -> tuple[int, int]:
        end_line, end_col = node.end_lineno or node.lineno, node.end_col_offset or node.col_offset
        return self.starts[node.lineno - 1] + node.col_offset, self.starts[end_line - 1] + end_col

    def text(self, node: ast.expr) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode()


def _route_paths(function: ast.FunctionDef | ast.AsyncFunctionDef, class_path: str) -> tuple[bool, set[str]]:
    paths, is_handler = [class_path], False
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
        if name in DECORATORS:
            is_handler = True
            for node in ast.walk(decorator):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    paths.append(node.value)
    return is_handler, set(re.findall(r"\{(\w+)(?::\w+)?\}", " ".join(paths)))


def _class_paths(tree: ast.Module) -> dict[int, str]:
    """`path = "..."` of each controller, by id of its methods."""
    out: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "path" for t in statement.targets)
                    and isinstance(statement.value, ast.Constant)
                ):
                    out.update({id(member): str(statement.value.value) for member in node.body})
    return out


def rewrite(path: Path) -> list[str]:
    """Rewrite one file in place; return what is left to do by hand."""
    text = path.read_text(encoding="utf-8")
    tree, source = ast.parse(text), _Source(text)
    class_paths = _class_paths(tree)
    edits: list[tuple[int, int, str]] = []
    needed: set[str] = set()
    by_hand: list[str] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        is_handler, path_names = _route_paths(function, class_paths.get(id(function), ""))
        if not (is_handler or function.name in PROVIDERS):
            continue
        args = function.args
        positional = args.posonlyargs + args.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += [*args.defaults, *args.kw_defaults]
        for arg, default in zip(positional + args.kwonlyargs, defaults, strict=True):
            if arg.arg in RESERVED or arg.annotation is None:
                continue
            where = f"{path}:{arg.lineno}: {arg.arg}"
            annotation = source.text(arg.annotation)
            start, end = source.span(arg.annotation)
            if annotation.startswith(MARKED):
                if annotation.startswith("Annotated[") and re.search(r"\bParameter\(", annotation):
                    by_hand.append(f"{where}: Annotated[..., Parameter(...)]")
                continue
            if arg.arg in DEPENDENCIES:
                edits.append((start, end, f"NamedDependency[{annotation}]"))
                needed.add("NamedDependency")
            elif arg.arg == "data":
                edits.append((start, end, f"JSONBody[{annotation}]"))
                needed.add("JSONBody")
            elif arg.arg in path_names:
                if default is not None:
                    by_hand.append(f"{where}: a path parameter with a default")
                    continue
                edits.append((start, end, f"FromPath[{annotation}]"))
                needed.add("FromPath")
            elif isinstance(default, ast.Call) and getattr(default.func, "id", "") == "Parameter":
                kind, keywords, value = "QueryParameter", [], None
                for keyword in default.keywords:
                    if keyword.arg == "default":
                        value = source.text(keyword.value)
                    elif keyword.arg in PARAMETER_KINDS:
                        kind = PARAMETER_KINDS[keyword.arg]
                        keywords.append(f"name={source.text(keyword.value)}")
                    else:
                        keywords.append(f"{keyword.arg}={source.text(keyword.value)}")
                if default.args or value is None:
                    by_hand.append(f"{where}: Parameter(...) without default= or with positional arguments")
                    continue
                marker = f"{kind}({', '.join(keywords)})"
                if marker == "QueryParameter()":
                    edits.append((start, end, f"FromQuery[{annotation}]"))
                    needed.add("FromQuery")
                else:
                    edits.append((start, end, f"Annotated[{annotation}, {marker}]"))
                    needed |= {"Annotated", kind}
                edits.append((*source.span(default), value))
            else:
                if isinstance(default, ast.Name) and default.id.isupper():
                    by_hand.append(f"{where}: default {default.id} may be a Parameter(...) constant")
                edits.append((start, end, f"FromQuery[{annotation}]"))
                needed.add("FromQuery")
    if not edits:
        return by_hand
    data = source.data
    for start, end, new in sorted(edits, reverse=True):
        data = data[:start] + new.encode() + data[end:]
    imports = [IMPORTS[name] for name in ("Annotated", "NamedDependency") if name in needed]
    params = sorted(needed - set(IMPORTS))
    if params:
        imports.append(f"from litestar.params import {', '.join(params)}")
    future = b"from __future__ import annotations\n"
    header = "\n".join(imports).encode() + b"\n"
    data = data.replace(future, future + b"\n" + header, 1) if future in data else header + data
    path.write_bytes(data)
    return by_hand


def main(argv: list[str]) -> int:
    left = [item for name in argv for item in rewrite(Path(name))]
    for item in left:
        print(item, file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

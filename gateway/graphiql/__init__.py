"""GraphiQL page with the schema explorer, its scripts and styles served by the gateway itself."""

from __future__ import annotations

import hashlib
import html
import os
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

__all__ = ["GRAPHIQL_CSP", "STATIC_PATH", "graphiql_html", "static_app"]

STATIC_PATH = "/graphiql/static"

# Data-URL fonts and images come from graphiql.min.css; the WebSocket carries subscriptions; nothing else
# leaves the gateway's origin, and the page runs no inline script.
GRAPHIQL_CSP = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)

_HERE = Path(__file__).parent
_STATIC_DIR = _HERE / "static"

# Template names -> files under static/, in the order the page loads them.
_ASSETS = {
    "graphiql_css": "graphiql/graphiql.min.css",
    "explorer_css": "graphiql-plugin-explorer/style.css",
    "page_css": "graphiql-page.css",
    "react_js": "react/react.production.min.js",
    "react_dom_js": "react-dom/react-dom.production.min.js",
    "graphiql_js": "graphiql/graphiql.min.js",
    "explorer_js": "graphiql-plugin-explorer/index.umd.js",
    "boot_js": "graphiql-boot.js",
}

_IMMUTABLE = "public, max-age=31536000, immutable"


@cache
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    # Keyed on mtime and size so an edited file gets a new URL without restarting the gateway.
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _version(path: Path) -> str:
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def _asset_url(relative: str) -> str:
    return f"{STATIC_PATH}/{relative}?v={_version(_STATIC_DIR / relative)}"


def graphiql_html(graphql_path: str = "/graphql") -> str:
    """The GraphiQL page for the endpoint at ``graphql_path`` (queries over HTTP, subscriptions over a
    WebSocket at the same path), loading only assets under STATIC_PATH."""
    if not graphql_path.startswith("/") or graphql_path.startswith("//"):
        raise ValueError(f"graphql_path must be a path on this server, got {graphql_path!r}")
    template = Template((_HERE / "graphiql.html").read_text(encoding="utf-8"))
    urls = {name: html.escape(_asset_url(relative)) for name, relative in _ASSETS.items()}
    return template.substitute(urls, endpoint=html.escape(graphql_path))


class _GraphiQLStaticFiles(StaticFiles):
    """Static files where URLs carrying the file's current ``?v=`` digest are cached for good."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        requested = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [])
        current = _digest(Path(full_path), stat_result.st_mtime_ns, stat_result.st_size)
        response.headers["cache-control"] = _IMMUTABLE if requested == [current] else "no-cache"
        if not Path(full_path).suffix:
            # The LICENSE files: readable in the browser rather than offered as a download.
            response.headers["content-type"] = "text/plain; charset=utf-8"
        return response


def static_app() -> StaticFiles:
    """Serves the vendored GraphiQL assets; mount it at STATIC_PATH."""
    return _GraphiQLStaticFiles(directory=_STATIC_DIR)

"""GraphiQL at /graphql works offline: the page and everything it loads come from the gateway itself."""

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from strawberry.asgi import GraphQL

from gateway.graphiql import GRAPHIQL_CSP, STATIC_PATH, graphiql_html, static_app
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve

STATIC_DIR = Path(__file__).parent.parent / "gateway" / "graphiql" / "static"

# Subresource-integrity digests of the builds unpkg.com publishes for these exact versions.
PUBLISHED_BUILDS = {
    "react/react.production.min.js": (
        "react@18.2.0",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    "react-dom/react-dom.production.min.js": (
        "react-dom@18.2.0",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    "graphiql/graphiql.min.js": (
        "graphiql@3.8.3",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    "graphiql/graphiql.min.css": (
        "graphiql@3.8.3",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    "graphiql-plugin-explorer/index.umd.js": (
        "@graphiql/plugin-explorer@1.0.2",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
    "graphiql-plugin-explorer/style.css": (
        "@graphiql/plugin-explorer@1.0.2",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
}

CDN_URL = re.compile(
    r"(?:https?:)?//(?:[\w-]+\.)*(?:unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|"
    r"fonts\.googleapis\.com|fonts\.gstatic\.com|esm\.sh|skypack\.dev)",
    re.IGNORECASE,
)
# Code that would make the browser load something, handed an absolute URL literal. URLs in comments,
# error messages and hrefs of "made by" links are text, not loads.
REMOTE_LOAD = re.compile(
    r"(?:\bimport\s*\(|importScripts\s*\(|new\s+(?:Shared)?Worker\s*\(|\bfetch\s*\(|new\s+WebSocket\s*\("
    r"|new\s+EventSource\s*\(|sendBeacon\s*\(|\.src\s*=|setAttribute\s*\(\s*['\"](?:src|href)['\"]\s*,)"
    r"\s*['\"`](?:(?:https?|wss?):)?//",
    re.IGNORECASE,
)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?([^'")\s;]+)""", re.IGNORECASE)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class GraphQLWithOfflineGraphiQL(GraphQL):
    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html("/graphql"), headers={"Content-Security-Policy": GRAPHIQL_CSP})


def create_app() -> Starlette:
    view = GraphQLWithOfflineGraphiQL(strawberry.Schema(query=Query))
    return Starlette(routes=[Route("/graphql", view), Mount(STATIC_PATH, static_app())])


class References(HTMLParser):
    """Every URL a page makes the browser load, and any inline script it would run."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.urls.append(str(attributes["src"]))
            elif attributes.get("type") not in ("application/json", "importmap"):
                self.inline_scripts += 1
        elif tag == "link" and attributes.get("href"):
            self.urls.append(str(attributes["href"]))
        elif tag in ("img", "iframe", "source", "audio", "video", "embed") and attributes.get("src"):
            self.urls.append(str(attributes["src"]))


def page_references(page: str) -> References:
    references = References()
    references.feed(page)
    return references


def is_inline_data(url: str) -> bool:
    return url.startswith("data:")


def is_same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


@pytest.fixture(scope="module")
def gateway() -> Iterator[LoopbackServer]:
    with serve(create_app()) as server:
        yield server


async def fetch_page(gateway: LoopbackServer) -> httpx.Response:
    async with loopback(gateway.url) as client:
        return await client.get("/graphql", headers={"Accept": "text/html"})


async def fetch_every_asset(gateway: LoopbackServer) -> dict[str, httpx.Response]:
    """The page's assets and whatever their stylesheets pull in, keyed by the URL as written."""
    page = await fetch_page(gateway)
    pending = [url for url in page_references(page.text).urls if not is_inline_data(url)]
    fetched: dict[str, httpx.Response] = {}
    async with loopback(gateway.url) as client:
        while pending:
            url = pending.pop()
            if url in fetched:
                continue
            assert is_same_origin(url), f"the page loads {url} from another host"
            fetched[url] = response = await client.get(url)
            if response.headers["content-type"].startswith("text/css"):
                for found in CSS_URL.findall(response.text) + CSS_IMPORT.findall(response.text):
                    if not is_inline_data(found):
                        pending.append(urljoin(urlsplit(url).path, found))
    return fetched


async def test_browsers_get_the_graphiql_page_with_its_security_policy(gateway: LoopbackServer) -> None:
    response = await fetch_page(gateway)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == GRAPHIQL_CSP
    assert 'id="graphiql" data-endpoint="/graphql"' in response.text


async def test_a_shared_link_with_a_query_opens_the_page(gateway: LoopbackServer) -> None:
    async with loopback(gateway.url) as client:
        response = await client.get(
            "/graphql", params={"q": "{ hello }", "variables": "{}"}, headers={"Accept": "text/html"}
        )

    assert response.status_code == 200
    assert 'id="graphiql"' in response.text


async def test_api_clients_still_get_json_from_the_same_path(gateway: LoopbackServer) -> None:
    async with loopback(gateway.url) as client:
        response = await client.post("/graphql", json={"query": "{ hello }"})

    assert response.json() == {"data": {"hello": "world"}}


async def test_the_page_runs_no_inline_script_so_script_src_self_suffices(gateway: LoopbackServer) -> None:
    references = page_references((await fetch_page(gateway)).text)

    assert references.inline_scripts == 0
    assert "script-src 'self';" in GRAPHIQL_CSP
    assert f"{STATIC_PATH}/graphiql-boot.js" in " ".join(references.urls)


async def test_every_asset_the_page_loads_is_served_by_the_gateway(gateway: LoopbackServer) -> None:
    assets = await fetch_every_asset(gateway)

    scripts = [url for url in assets if urlsplit(url).path.endswith(".js")]
    stylesheets = [url for url in assets if urlsplit(url).path.endswith(".css")]
    assert len(scripts) == 5
    assert len(stylesheets) == 3
    for url, response in assets.items():
        assert url.startswith(f"{STATIC_PATH}/")
        assert response.status_code == 200, url
        expected = "javascript" if url in scripts else "text/css"
        assert expected in response.headers["content-type"], url
        assert int(response.headers["content-length"]) > 0, url


async def test_no_asset_loads_anything_from_a_cdn_or_any_other_host(gateway: LoopbackServer) -> None:
    assets = await fetch_every_asset(gateway)

    for url, response in assets.items():
        assert not CDN_URL.search(response.text), f"{url} names a CDN"
        assert not REMOTE_LOAD.search(response.text), f"{url} loads from another host"
        if "text/css" in response.headers["content-type"]:
            for found in CSS_URL.findall(response.text) + CSS_IMPORT.findall(response.text):
                assert is_inline_data(found) or is_same_origin(found), f"{url} pulls in {found}"


def test_the_remote_load_check_recognises_loader_code() -> None:
    assert REMOTE_LOAD.search('importScripts("https://unpkg.com/monaco-editor/worker.js")')
    assert REMOTE_LOAD.search("script.src = 'https://cdn.example/x.js'")
    assert REMOTE_LOAD.search("fetch(`//fonts.example/f.woff2`)")
    assert not REMOTE_LOAD.search('throw new Error("see https://reactjs.org/link/warning-keys")')
    assert CDN_URL.search('<script src="https://cdn.jsdelivr.net/npm/graphiql">')
    assert not CDN_URL.search("If you are using a CDN source (jsdelivr, unpkg, etc)")


async def test_versioned_asset_urls_are_cached_for_good(gateway: LoopbackServer) -> None:
    assets = await fetch_every_asset(gateway)
    boot = next(url for url in assets if "graphiql-boot.js" in url)

    assert "?v=" in boot
    assert assets[boot].headers["cache-control"] == "public, max-age=31536000, immutable"
    async with loopback(gateway.url) as client:
        unversioned = await client.get(urlsplit(boot).path)
        stale = await client.get(urlsplit(boot).path + "?v=0000000000000000")
    assert unversioned.headers["cache-control"] == "no-cache"
    assert stale.headers["cache-control"] == "no-cache"


def test_vendored_builds_are_byte_for_byte_the_published_releases() -> None:
    for relative, (release, integrity) in PUBLISHED_BUILDS.items():
        digest = hashlib.sha384((STATIC_DIR / relative).read_bytes()).digest()
        assert f"sha384-{base64.b64encode(digest).decode()}" == integrity, f"{relative} is not {release}"


async def test_every_vendored_package_ships_its_license(gateway: LoopbackServer) -> None:
    packages = {relative.split("/")[0] for relative in PUBLISHED_BUILDS}

    async with loopback(gateway.url) as client:
        for package in packages:
            response = await client.get(f"{STATIC_PATH}/{package}/LICENSE")
            assert response.status_code == 200, package
            assert response.headers["content-type"].startswith("text/plain"), package
            assert "Permission is hereby granted" in response.text, package


def test_the_page_can_point_at_another_graphql_path() -> None:
    page = graphiql_html("/api/graphql")

    assert 'data-endpoint="/api/graphql"' in page
    assert all(is_same_origin(url) for url in page_references(page).urls if not is_inline_data(url))


@pytest.mark.parametrize("endpoint", ["https://elsewhere.example/graphql", "//elsewhere.example/graphql"])
def test_the_page_refuses_an_endpoint_on_another_host(endpoint: str) -> None:
    with pytest.raises(ValueError, match="path on this server"):
        graphiql_html(endpoint)

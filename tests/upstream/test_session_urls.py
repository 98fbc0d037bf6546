"""Request URLs made from the session's own targets are the URLs httpx's parser makes of them."""

from __future__ import annotations

import re

import httpx
import pytest

from gateway.upstream.session import RequestUrls

ORIGINS = ["http://127.0.0.1:8123", "https://metastudio.cn-north-4.myhuaweicloud.com", "http://[::1]:8080"]
TARGETS = [
    "/v1/demo-project/digital-human-videos",
    "/v1/demo-project/digital-human-videos?create_since=2000-01-01T00%3A00%3A00Z&job_ids=a%2Cb&limit=2",
    "/v1/demo-project/2d-digital-human-videos/dc22c6c7-9e64-4702-9d1a-3e8416e4bd31?show_script=true",
    "/v1/p%2Fq/digital-human-videos/a~b.c_d-e?x=%E4%B8%AD&y=",
    "/v1/p/x?",
    "/v1/p/x?a=1?b=2",
    # Not what the session makes: parsed by httpx, whatever it makes of them.
    "/v1/p/a b",
    "/v1/p/中文?q=中",
    "/v1/p/x#fragment",
    "/v1/p/x?q=a\tb",
    "/v1/p/x?q=[1]",
    "v1/relative",
    "",
]


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("target", TARGETS)
def test_a_request_url_is_the_url_httpx_parses_from_the_same_text(origin: str, target: str) -> None:
    try:
        parsed = httpx.URL(origin + target)
    except httpx.InvalidURL as refused:
        with pytest.raises(httpx.InvalidURL, match=re.escape(str(refused))):
            RequestUrls(origin).of(target)
        return
    made = RequestUrls(origin).of(target)
    for attribute in ("scheme", "host", "port", "raw_path", "path", "query", "fragment", "netloc"):
        assert getattr(made, attribute) == getattr(parsed, attribute), attribute
    assert str(made) == str(parsed)
    assert made == parsed


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts httpx parses into URLs from now on, in order."""
    parsed: list[str] = []
    real = httpx.URL.__init__

    def counted(self: httpx.URL, url: httpx.URL | str = "", **kwargs: object) -> None:
        parsed.append(str(url))
        real(self, url, **kwargs)

    monkeypatch.setattr(httpx.URL, "__init__", counted)
    return parsed


def test_the_session_s_own_targets_skip_httpx_s_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    urls = RequestUrls(ORIGINS[0])
    parsed = counting_parses(monkeypatch)
    ids = "%2C".join(f"dc22c6c7-9e64-4702-9d1a-3e8416e4bd{n:02}" for n in range(100))
    url = urls.of(f"/v1/demo-project/digital-human-videos?job_ids={ids}&limit=100")
    assert parsed == []
    assert url.params["job_ids"].count(",") == 99
    urls.of("/v1/p/a b")
    assert parsed == [f"{ORIGINS[0]}/v1/p/a b"]


def test_an_httpx_that_keeps_its_parsed_url_otherwise_parses_every_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed_form = type(httpx.URL(ORIGINS[0])._uri_reference)
    monkeypatch.setattr(parsed_form, "_fields", ("scheme", "authority", "target"))
    urls = RequestUrls(ORIGINS[0])
    parsed = counting_parses(monkeypatch)
    assert str(urls.of("/v1/p/x?a=1")) == f"{ORIGINS[0]}/v1/p/x?a=1"
    assert parsed == [f"{ORIGINS[0]}/v1/p/x?a=1"]

"""Keeping callback tokens out of the logs of those who write request URLs (uvicorn, httpx)."""

from __future__ import annotations

import logging
import re

from gateway.live.callback_tokens import CALLBACK_PATH

# uvicorn's access log writes each request's path; httpx logs each URL it calls at INFO (the embedded
# emulator posts its callbacks with it).
URL_LOGGERS = ("uvicorn.access", "httpx")
_TOKEN_IN_PATH = re.compile(r"(/callbacks/)[^/?#\s\"]+")


class HideCallbackTokens(logging.Filter):
    """Takes callback tokens out of logged URLs and request lines: a token is its job's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _hidden(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_hidden(arg) for arg in record.args)
        return True


def _hidden(value: object) -> object:
    # URLs come as text (uvicorn) or as URL objects (httpx); numbers and the like pass untouched.
    if isinstance(value, int | float) or CALLBACK_PATH not in (text := str(value)):
        return value
    return _TOKEN_IN_PATH.sub(r"\1<token>", text)


def hide_callback_tokens() -> None:
    """Give each logger of URLs a HideCallbackTokens filter, once however often the app is built."""
    for name in URL_LOGGERS:
        logger_of_urls = logging.getLogger(name)
        if not any(isinstance(f, HideCallbackTokens) for f in logger_of_urls.filters):
            logger_of_urls.addFilter(HideCallbackTokens())

"""Upstream errors read well and carry what a caller needs to act on them."""

from __future__ import annotations

from gateway.upstream import UpstreamError, UpstreamHTTPError, UpstreamTimeout


def test_http_error_reads_as_operation_status_code_message_and_request_id() -> None:
    error = UpstreamHTTPError(404, "MSS.00000002", "Not Found", "abc123", operation="ShowPictureModelingJob")

    assert str(error) == "ShowPictureModelingJob: HTTP 404 MSS.00000002: Not Found (request id abc123)"
    assert (error.status, error.error_code, error.error_msg, error.request_id) == (
        404,
        "MSS.00000002",
        "Not Found",
        "abc123",
    )
    assert isinstance(error, UpstreamError)
    assert "MSS.00000002" in repr(error)


def test_http_error_without_a_code_or_request_id() -> None:
    assert str(UpstreamHTTPError(502, None, "Bad Gateway")) == "HTTP 502: Bad Gateway"


def test_timeout_names_its_operation() -> None:
    error = UpstreamTimeout("no answer within the total timeout of 30 s", operation="ListDigitalHumanVideo")
    assert str(error) == "ListDigitalHumanVideo: no answer within the total timeout of 30 s"
    assert repr(error).startswith("UpstreamTimeout(")

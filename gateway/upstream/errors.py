"""What can go wrong calling the upstream, as exceptions that never carry a secret."""

from __future__ import annotations


class UpstreamError(Exception):
    """Base of every upstream failure; `operation` names the upstream API that was called.

    `request_sent` is False only when the request certainly never reached the upstream (no
    connection could be made), so a create that failed that way certainly created nothing.
    """

    request_sent: bool = True

    def __init__(self, message: str, *, operation: str = "", request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.request_id = request_id

    def __str__(self) -> str:
        prefix = f"{self.operation}: " if self.operation else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.message}{suffix}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, operation={self.operation!r}, request_id={self.request_id!r})"


class CredentialsError(UpstreamError):
    """The call cannot be authenticated (no token, or one no HTTP header can carry): nothing was sent."""

    request_sent = False


class UpstreamHTTPError(UpstreamError):
    """The upstream answered with a non-2xx status; `error_code` is its MSS code when it gave one."""

    def __init__(
        self,
        status: int,
        error_code: str | None,
        error_msg: str,
        request_id: str | None = None,
        *,
        operation: str = "",
    ) -> None:
        code = f" {error_code}" if error_code else ""
        super().__init__(f"HTTP {status}{code}: {error_msg}", operation=operation, request_id=request_id)
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg

    def __repr__(self) -> str:
        return (
            f"UpstreamHTTPError(status={self.status}, error_code={self.error_code!r}, "
            f"error_msg={self.error_msg!r}, request_id={self.request_id!r}, operation={self.operation!r})"
        )


class UpstreamInvalidResponse(UpstreamError):
    """A 2xx answer whose body is not the JSON object every operation returns."""


class UpstreamTimeout(UpstreamError):
    """No complete answer within the connect, read or total time allowed."""


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached, or dropped the connection before answering."""

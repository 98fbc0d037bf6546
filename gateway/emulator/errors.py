"""MSS error answers: the upstream's codes, statuses and JSON body."""

from __future__ import annotations

from starlette.responses import JSONResponse

UNAUTHORIZED = "MSS.00000001"
NOT_FOUND = "MSS.00000002"
INVALID_PARAMETER = "MSS.00000003"
INTERNAL_ERROR = "MSS.00000004"
FORBIDDEN = "MSS.00000005"

_CODE_FOR_STATUS = {400: INVALID_PARAMETER, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND}


def code_for_status(status: int) -> str:
    return _CODE_FOR_STATUS.get(status, INTERNAL_ERROR)


class MSSError(Exception):
    """An answer the upstream would give as a non-2xx MSS body."""

    def __init__(self, status: int, error_code: str, error_msg: str) -> None:
        super().__init__(error_msg)
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg

    def response(self) -> JSONResponse:
        return error_response(self.status, self.error_code, self.error_msg)


def error_response(status: int, error_code: str, error_msg: str) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "error_msg": error_msg}, status_code=status)


def invalid(message: str) -> MSSError:
    return MSSError(400, INVALID_PARAMETER, message)


def unauthorized(message: str = "Unauthorized") -> MSSError:
    return MSSError(401, UNAUTHORIZED, message)


def forbidden(message: str = "Forbidden") -> MSSError:
    return MSSError(403, FORBIDDEN, message)


def not_found(message: str = "Not Found") -> MSSError:
    return MSSError(404, NOT_FOUND, message)


def job_not_found(job_id: str) -> MSSError:
    return not_found(f"Not Found: job {job_id} does not exist")

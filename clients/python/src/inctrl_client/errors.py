"""Typed exceptions mapped from gRPC status codes (and from per-request stream errors)."""
from __future__ import annotations

from typing import Optional

import grpc


class InctrlError(Exception):
    """Base class. ``code`` is the gRPC status code, ``details`` the server's message."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str = "", *, code: Optional[grpc.StatusCode] = None, request_id: str = ""):
        super().__init__(details)
        if code is not None:
            self.code = code
        self.details = details
        self.request_id = request_id

    def __str__(self) -> str:
        rid = f" [request_id={self.request_id}]" if self.request_id else ""
        return f"{self.code.name}: {self.details}{rid}"


class Cancelled(InctrlError):
    code = grpc.StatusCode.CANCELLED


class InvalidArgument(InctrlError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(InctrlError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(InctrlError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(InctrlError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(InctrlError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(InctrlError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(InctrlError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unimplemented(InctrlError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(InctrlError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(InctrlError):
    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(InctrlError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[InctrlError]] = {
    cls.code: cls
    for cls in (Cancelled, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied,
                ResourceExhausted, FailedPrecondition, Unimplemented, Internal, Unavailable, Unauthenticated)
}
_BY_NAME: dict[str, grpc.StatusCode] = {c.name: c for c in grpc.StatusCode}


def from_code(code: grpc.StatusCode, details: str = "", request_id: str = "") -> InctrlError:
    cls = _BY_CODE.get(code)
    if cls is None:
        return InctrlError(details, code=code, request_id=request_id)
    return cls(details, request_id=request_id)


def from_code_name(name: str, message: str = "", request_id: str = "") -> InctrlError:
    """Maps the ``Error`` message of a failed stream response (code is a name such as "INVALID_ARGUMENT")."""
    code = _BY_NAME.get((name or "").strip().upper(), grpc.StatusCode.UNKNOWN)
    return from_code(code, message, request_id)


def from_rpc_error(err: grpc.RpcError) -> InctrlError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    mapped = from_code(code or grpc.StatusCode.UNKNOWN, details or "")
    mapped.__cause__ = err
    return mapped

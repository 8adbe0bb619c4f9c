"""Typed exceptions mapped from gRPC status codes (and from per-request stream errors)."""
from __future__ import annotations

from typing import Optional

import grpc
from google.rpc import error_details_pb2, status_pb2


class InctrlError(Exception):
    """Base class. ``code`` is the gRPC status code, ``details`` the server's message, ``reason`` its stable reason
    (google.rpc.ErrorInfo, or a stream item's ``Error.reason``; "" when none came) and ``retry_after`` its retry hint in
    seconds (google.rpc.RetryInfo or ``Error.retry_after``): present exactly when resending the same request may
    succeed (QUEUE_FULL, RATE_LIMITED, DRAINING, ...), None otherwise. Reasons: docs/errors.md."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str = "", *, code: Optional[grpc.StatusCode] = None, request_id: str = "",
                 reason: str = "", retry_after: Optional[float] = None):
        super().__init__(details)
        if code is not None:
            self.code = code
        self.details = details
        self.request_id = request_id
        self.reason = reason
        self.retry_after = retry_after

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


class Aborted(InctrlError):
    """E.g. CONCURRENT_CHANGE: a prompt set's shots changed while AddShots / RemoveShots ran; read the set again and
    redo the whole operation (the client does not resend writes by itself)."""
    code = grpc.StatusCode.ABORTED


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
                ResourceExhausted, FailedPrecondition, Aborted, Unimplemented, Internal, Unavailable, Unauthenticated)
}
_BY_NAME: dict[str, grpc.StatusCode] = {c.name: c for c in grpc.StatusCode}


def from_code(code: grpc.StatusCode, details: str = "", request_id: str = "", *, reason: str = "",
              retry_after: Optional[float] = None) -> InctrlError:
    cls = _BY_CODE.get(code)
    if cls is None:
        return InctrlError(details, code=code, request_id=request_id, reason=reason, retry_after=retry_after)
    return cls(details, request_id=request_id, reason=reason, retry_after=retry_after)


def from_code_name(name: str, message: str = "", request_id: str = "", *, reason: str = "",
                   retry_after: Optional[float] = None) -> InctrlError:
    """Maps the ``Error`` message of a failed stream response (code is a name such as "INVALID_ARGUMENT")."""
    code = _BY_NAME.get((name or "").strip().upper(), grpc.StatusCode.UNKNOWN)
    return from_code(code, message, request_id, reason=reason, retry_after=retry_after)


def from_stream_error(error, request_id: str) -> InctrlError:
    """Maps a failed stream response's ``Error``, with its reason and retry hint."""
    retry = error.retry_after.ToTimedelta().total_seconds() if error.HasField("retry_after") else None
    return from_code_name(error.code, error.message, request_id, reason=error.reason, retry_after=retry)


def _hints(err: grpc.RpcError) -> tuple[str, Optional[float]]:
    """(reason, retry delay in seconds) from the server's google.rpc details (grpc-status-details-bin); the transport's
    own failures carry none."""
    try:
        metadata = err.trailing_metadata() or ()
    except Exception:  # noqa: BLE001 - a bare RpcError without a call behind it
        return "", None
    raw = next((v for k, v in metadata if k == "grpc-status-details-bin"), None)
    if not raw:
        return "", None
    reason, retry = "", None
    status = status_pb2.Status.FromString(raw)
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            hint = error_details_pb2.RetryInfo()
            detail.Unpack(hint)
            retry = hint.retry_delay.ToTimedelta().total_seconds()
    return reason, retry


def from_rpc_error(err: grpc.RpcError) -> InctrlError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    reason, retry = _hints(err)
    mapped = from_code(code or grpc.StatusCode.UNKNOWN, details or "", reason=reason, retry_after=retry)
    mapped.__cause__ = err
    return mapped

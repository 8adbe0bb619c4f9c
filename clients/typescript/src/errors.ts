import { status as Status, type ServiceError } from "@grpc/grpc-js";

/** Base class of every error the client raises for a failed call or a failed stream request. */
export class InctrlError extends Error {
  /** Numeric gRPC status code (grpc-js `status`). */
  readonly code: Status;
  /** Status name, e.g. "INVALID_ARGUMENT". */
  readonly codeName: string;
  readonly details: string;
  /** Set for a failed ScoreStream request. */
  readonly requestId?: string;

  constructor(code: Status, details: string, requestId?: string) {
    const name = Status[code] ?? "UNKNOWN";
    super(`${name}: ${details}${requestId ? ` [request_id=${requestId}]` : ""}`);
    this.name = new.target.name;
    this.code = code;
    this.codeName = name;
    this.details = details;
    this.requestId = requestId;
  }
}

export class CancelledError extends InctrlError {}
export class InvalidArgumentError extends InctrlError {}
export class DeadlineExceededError extends InctrlError {}
export class NotFoundError extends InctrlError {}
export class AlreadyExistsError extends InctrlError {}
export class PermissionDeniedError extends InctrlError {}
export class ResourceExhaustedError extends InctrlError {}
export class FailedPreconditionError extends InctrlError {}
export class UnimplementedError extends InctrlError {}
export class InternalError extends InctrlError {}
export class UnavailableError extends InctrlError {}
export class UnauthenticatedError extends InctrlError {}

const byCode = new Map<Status, new (code: Status, details: string, requestId?: string) => InctrlError>([
  [Status.CANCELLED, CancelledError],
  [Status.INVALID_ARGUMENT, InvalidArgumentError],
  [Status.DEADLINE_EXCEEDED, DeadlineExceededError],
  [Status.NOT_FOUND, NotFoundError],
  [Status.ALREADY_EXISTS, AlreadyExistsError],
  [Status.PERMISSION_DENIED, PermissionDeniedError],
  [Status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [Status.FAILED_PRECONDITION, FailedPreconditionError],
  [Status.UNIMPLEMENTED, UnimplementedError],
  [Status.INTERNAL, InternalError],
  [Status.UNAVAILABLE, UnavailableError],
  [Status.UNAUTHENTICATED, UnauthenticatedError],
]);

export function fromCode(code: Status, details: string, requestId?: string): InctrlError {
  const Cls = byCode.get(code) ?? InctrlError;
  return new Cls(code, details, requestId);
}

/** Maps the `Error` message of a failed stream response ("INVALID_ARGUMENT", ...). */
export function fromCodeName(name: string, message: string, requestId?: string): InctrlError {
  const code = (Status as unknown as Record<string, number>)[(name ?? "").trim().toUpperCase()];
  return fromCode(typeof code === "number" ? code : Status.UNKNOWN, message, requestId);
}

/** Maps a grpc-js ServiceError (or anything thrown) to a typed InctrlError. */
export function fromServiceError(err: unknown): InctrlError {
  if (err instanceof InctrlError) return err;
  const e = err as Partial<ServiceError>;
  if (typeof e?.code === "number") {
    const mapped = fromCode(e.code, e.details ?? e.message ?? "");
    (mapped as { cause?: unknown }).cause = err;
    return mapped;
  }
  return new InctrlError(Status.UNKNOWN, String((err as Error)?.message ?? err));
}

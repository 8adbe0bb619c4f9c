import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Duration } from "./gen/google/protobuf/duration.js";
import type { Error as StreamError } from "./gen/inctrl/v1/scoring.js";

/** Base class of every error the client raises for a failed call or a failed stream request. */
export class InctrlError extends Error {
  /** Numeric gRPC status code (grpc-js `status`). */
  readonly code: Status;
  /** Status name, e.g. "INVALID_ARGUMENT". */
  readonly codeName: string;
  readonly details: string;
  /** Set for a failed ScoreStream request. */
  readonly requestId?: string;
  /** The server's stable reason (google.rpc.ErrorInfo, or a stream item's `error.reason`; docs/errors.md); "" if none. */
  reason = "";
  /**
   * The server's retry hint in ms (google.rpc.RetryInfo or `error.retryAfter`): set exactly when resending the same
   * request may succeed (QUEUE_FULL, RATE_LIMITED, DRAINING, ...), undefined otherwise.
   */
  retryAfterMs?: number;

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
/** E.g. CONCURRENT_CHANGE: a prompt set's shots changed while addShots / removeShots ran. */
export class AbortedError extends InctrlError {}
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
  [Status.ABORTED, AbortedError],
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

/** Maps the `Error` of a failed stream response, with its reason and retry hint. */
export function fromStreamError(error: StreamError, requestId?: string): InctrlError {
  const e = fromCodeName(error.code, error.message, requestId);
  e.reason = error.reason ?? "";
  if (error.retryAfter) e.retryAfterMs = durationMs(error.retryAfter);
  return e;
}

const durationMs = (d: Duration) => Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);

/**
 * The server's reason and retry hint from `grpc-status-details-bin`: a google.rpc.Status whose details (Any) hold
 * google.rpc.ErrorInfo {reason = 1} and google.rpc.RetryInfo {retry_delay = 1}. Read with the wire reader of
 * @bufbuild/protobuf (already a dependency) rather than a package of generated googleapis types.
 */
export function statusHints(bin: Uint8Array): { reason: string; retryAfterMs?: number } {
  const out: { reason: string; retryAfterMs?: number } = { reason: "" };
  const fields = (buf: Uint8Array, each: (field: number, r: BinaryReader, wire: WireType) => void) => {
    const r = new BinaryReader(buf);
    while (r.pos < r.len) {
      const [field, wire] = r.tag();
      each(field, r, wire);
    }
  };
  fields(bin, (field, r, wire) => {
    if (field !== 3 || wire !== WireType.LengthDelimited) {
      r.skip(wire);
      return;
    }
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    fields(r.bytes(), (f, a, w) => {
      if (f === 1 && w === WireType.LengthDelimited) typeUrl = a.string();
      else if (f === 2 && w === WireType.LengthDelimited) value = a.bytes();
      else a.skip(w);
    });
    if (typeUrl.endsWith("/google.rpc.ErrorInfo")) {
      fields(value, (f, a, w) => (f === 1 && w === WireType.LengthDelimited ? (out.reason = a.string()) : a.skip(w)));
    } else if (typeUrl.endsWith("/google.rpc.RetryInfo")) {
      fields(value, (f, a, w) => {
        if (f === 1 && w === WireType.LengthDelimited) out.retryAfterMs = durationMs(Duration.decode(a.bytes()));
        else a.skip(w);
      });
    }
  });
  return out;
}

/** Maps a grpc-js ServiceError (or anything thrown) to a typed InctrlError. */
export function fromServiceError(err: unknown): InctrlError {
  if (err instanceof InctrlError) return err;
  const e = err as Partial<ServiceError>;
  if (typeof e?.code === "number") {
    const mapped = fromCode(e.code, e.details ?? e.message ?? "");
    (mapped as { cause?: unknown }).cause = err;
    // the server's google.rpc details; the transport's own failures carry none
    const bin = e.metadata?.get("grpc-status-details-bin")?.[0];
    if (bin instanceof Uint8Array) {
      try {
        Object.assign(mapped, statusHints(bin));
      } catch {
        // details we cannot read carry no hint
      }
    }
    return mapped;
  }
  return new InctrlError(Status.UNKNOWN, String((err as Error)?.message ?? err));
}

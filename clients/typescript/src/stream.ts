import type { ClientDuplexStream, ServiceError } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import { Inspection, type ScoreRequest, type ScoreResponse } from "./gen/inctrl/v1/scoring.js";
import { CancelledError, InctrlError, InternalError, UnavailableError, fromCode, fromServiceError, fromStreamError } from "./errors.js";
import { NO_RETRY, backoffMs, type RetryPolicy } from "./retry.js";

/**
 * Which part of each image the model sees; a prompt set brings its own, so only inline shots and new prompt sets take
 * one. "auto" is for new prompt sets only (the server chooses from the shots; inline prompts refuse it).
 */
export type InspectionMode = "center-crop" | "resize" | "tiles" | "auto";

export type Prompts = { shots: Uint8Array[]; category?: string; inspection?: InspectionMode } | { promptSetId: string };

/** The proto enum of a mode; absent = unspecified (inline prompts: centre crop; a new prompt set: auto). */
export function inspectionValue(mode: InspectionMode | undefined): Inspection {
  switch (mode) {
    case undefined:
      return Inspection.INSPECTION_UNSPECIFIED;
    case "center-crop":
      return Inspection.INSPECTION_CENTER_CROP;
    case "resize":
      return Inspection.INSPECTION_RESIZE;
    case "tiles":
      return Inspection.INSPECTION_TILES;
    case "auto":
      return Inspection.INSPECTION_AUTO;
    default:
      throw new TypeError(`inspection must be one of center-crop, resize, tiles, auto, not ${JSON.stringify(mode)}`);
  }
}

/**
 * Which model version scores: `model` "" (or absent) = the server's default model (for a prompt set: the set's own),
 * `modelVersion` 0 (or absent) = the version its roll-out routes to. A response's `model` / `modelVersion` name the
 * version that answered.
 */
export interface ModelChoice {
  model?: string;
  modelVersion?: number;
}

export function buildRequest(image: Uint8Array, prompts: Prompts | undefined, requestId = "", omitMap = false, choice: ModelChoice = {}): ScoreRequest {
  const req: ScoreRequest = { requestId, image: Buffer.from(image), omitMap, model: choice.model ?? "", modelVersion: choice.modelVersion ?? 0 };
  if (prompts && "promptSetId" in prompts && prompts.promptSetId) {
    req.promptSetId = prompts.promptSetId;
  } else if (prompts && "shots" in prompts && prompts.shots.length > 0) {
    req.inline = {
      shots: prompts.shots.map((s) => Buffer.from(s)),
      category: prompts.category ?? "",
      inspection: inspectionValue(prompts.inspection),
    };
  } else {
    throw new TypeError("scoring needs prompts: { shots, category } or { promptSetId }");
  }
  return req;
}

export interface Submitted {
  requestId: string;
  /** Resolves with the response carrying requestId, rejects with a typed InctrlError. */
  result: Promise<ScoreResponse>;
}

export interface StreamResult {
  requestId: string;
  response?: ScoreResponse;
  error?: InctrlError;
  latencyMs: number;
}

interface Pending {
  resolve: (r: ScoreResponse) => void;
  reject: (e: InctrlError) => void;
  sentAt: number;
  req: ScoreRequest; // kept for a resend
  resent: number; // resends after an answer with retryAfter
}

type Call = ClientDuplexStream<ScoreRequest, ScoreResponse>;

/**
 * One logical ScoreStream, carried by one gRPC call at a time. `submit` waits while `window` requests are
 * unanswered (backpressure) and returns a promise per request, settled by the response with the same request_id
 * (responses arrive in any order).
 *
 * When the call fails with UNAVAILABLE (its backend stopped or went away), or is cancelled by the other side (a
 * backend shutting down resets its streams), the requests still unanswered are
 * resent, in submit order, on a new call, which the channel's round_robin places on a backend that is up; at
 * most `resend.maxAttempts - 1` times in a row without an answer in between. A request whose answer arrived is
 * never resent, and each promise settles once: every id is reported exactly once. A failure carrying the server's
 * retry hint (google.rpc.RetryInfo) is resent the same way, after that hint.
 *
 * A request answered with an `error` that has `retryAfter` (QUEUE_FULL, RATE_LIMITED, ...) is resent after that
 * delay, at most `resend.maxAttempts - 1` times; one without it rejects at once. So that a resend always has a call
 * to go on, the call is ended only once every request is settled.
 */
export class ScoreStream {
  readonly window: number;
  /** Responses whose request_id was never sent (or was answered twice). */
  readonly unmatched: ScoreResponse[] = [];
  /** How many times the stream moved to a new call after UNAVAILABLE. */
  restarts = 0;
  private readonly pending = new Map<string, Pending>(); // insertion order = submit order
  private readonly waiters: Array<() => void> = [];
  private call?: Call; // undefined while waiting to restart
  private callGone: Promise<void> = Promise.resolve();
  private failure?: InctrlError;
  private ended = false;
  private closing = false;
  private callEnded = false; // the current call's requests were ended (every request settled)
  private cancelled = false;
  private attempt = 0;
  private nextId = 0;
  private resolveFinished!: () => void;
  private readonly finished = new Promise<void>((r) => (this.resolveFinished = r));

  constructor(
    private readonly startCall: () => Call,
    window: number,
    private readonly defaults: { prompts?: Prompts; omitMap?: boolean } & ModelChoice,
    private readonly resend: RetryPolicy = NO_RETRY,
  ) {
    if (window < 1) throw new RangeError("window must be >= 1");
    this.window = window;
    this.attach(startCall());
  }

  private attach(call: Call) {
    this.call = call;
    let gone!: () => void;
    this.callGone = new Promise<void>((r) => (gone = r));
    call.on("data", (resp: ScoreResponse) => {
      if (call !== this.call) return;
      this.attempt = 0; // progress: the next failure starts a fresh resend budget
      this.onResponse(resp);
    });
    call.on("error", (e: ServiceError) => {
      gone();
      if (call === this.call) this.onCallError(fromServiceError(e));
    });
    call.on("status", (st: { code: number }) => {
      if (st.code !== Status.OK) return; // failures arrive as "error"
      gone();
      if (call === this.call) this.finish(undefined);
    });
  }

  private onCallError(err: InctrlError) {
    // UNAVAILABLE, or a cancellation this client did not ask for (a replica shutting down resets its streams), or
    // any failure with the server's retry hint (e.g. RATE_LIMITED when the call opened)
    const resendable = err instanceof UnavailableError || err instanceof CancelledError || err.retryAfterMs !== undefined;
    if (resendable && !this.cancelled && this.attempt + 1 < this.resend.maxAttempts) {
      this.attempt++;
      this.call = undefined; // submits meanwhile stay pending and go out with the resend
      // spread the reconnects like gRPC's own backoff, never sooner than the server asked
      const wait = Math.max(Math.random() * backoffMs(this.resend, this.attempt), err.retryAfterMs ?? 0);
      setTimeout(() => this.restart(), wait);
      return;
    }
    this.finish(err);
  }

  private restart() {
    if (this.ended) return;
    if (this.cancelled) {
      this.finish(fromCode(Status.CANCELLED, "stream cancelled"));
      return;
    }
    this.restarts++;
    const call = this.startCall();
    this.attach(call);
    this.callEnded = false;
    for (const p of this.pending.values()) call.write(p.req);
    this.endWhenSettled();
  }

  /** Ends the current call's requests once the caller closed the stream and every request is settled. */
  private endWhenSettled() {
    if (this.closing && !this.callEnded && this.pending.size === 0 && this.call && !this.ended) {
      this.callEnded = true;
      this.call.end();
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** The stream's terminal error, if it broke. */
  get error(): InctrlError | undefined {
    return this.failure;
  }

  private onResponse(resp: ScoreResponse) {
    const p = this.pending.get(resp.requestId);
    if (!p) {
      this.unmatched.push(resp);
      return;
    }
    const error = resp.error ? fromStreamError(resp.error, resp.requestId) : undefined;
    if (error?.retryAfterMs !== undefined && !this.cancelled && p.resent + 1 < this.resend.maxAttempts) {
      p.resent++; // the server said waiting helps: resend after its hint, on whichever call is current then
      setTimeout(() => {
        if (!this.ended && this.pending.get(resp.requestId) === p && !this.callEnded) this.call?.write(p.req);
      }, error.retryAfterMs);
      return;
    }
    this.pending.delete(resp.requestId);
    if (error) p.reject(error);
    else p.resolve(resp);
    this.waiters.shift()?.();
    this.endWhenSettled();
  }

  private finish(err: InctrlError | undefined) {
    if (this.ended) return;
    this.ended = true;
    if (!err && this.pending.size > 0) err = new InternalError(Status.INTERNAL, `stream ended with ${this.pending.size} request(s) unanswered`);
    this.failure = err;
    for (const [id, p] of this.pending) {
      const e = fromCode(err!.code, err!.details, id);
      e.reason = err!.reason;
      e.retryAfterMs = err!.retryAfterMs;
      p.reject(e);
    }
    this.pending.clear();
    for (const w of this.waiters.splice(0)) w();
    this.resolveFinished();
  }

  /** Sends one image; waits for a free slot in the window first. Prompts, model and modelVersion override the stream's. */
  async submit(image: Uint8Array, opts: { requestId?: string; prompts?: Prompts; omitMap?: boolean } & ModelChoice = {}): Promise<Submitted> {
    if (this.failure) throw this.failure;
    if (this.ended || this.closing) throw new Error("stream is closed");
    const requestId = opts.requestId || `r${++this.nextId}`;
    const req = buildRequest(image, opts.prompts ?? this.defaults.prompts, requestId, opts.omitMap ?? this.defaults.omitMap ?? false, {
      model: opts.model ?? this.defaults.model,
      modelVersion: opts.modelVersion ?? this.defaults.modelVersion,
    });
    while (this.pending.size >= this.window && !this.ended) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error("stream is closed");
    if (this.pending.has(requestId)) throw new Error(`request_id ${JSON.stringify(requestId)} is already in flight`);
    let pending!: Pending;
    const result = new Promise<ScoreResponse>((resolve, reject) => {
      pending = { resolve, reject, sentAt: Date.now(), req, resent: 0 };
    });
    result.catch(() => undefined); // the caller may never await it; do not crash on unhandled rejection
    this.pending.set(requestId, pending); // registered before writing: the answer may come back at once
    const call = this.call;
    if (call && !call.write(req)) {
      // respect the transport's own buffer too, but do not hang if the call dies meanwhile
      await Promise.race([new Promise<void>((r) => call.once("drain", r)), this.callGone, this.finished]);
    }
    return { requestId, result };
  }

  /** Submits (requestId, image) pairs and yields results in completion order; every id exactly once. */
  async *scoreMany(items: Iterable<[string, Uint8Array]> | AsyncIterable<[string, Uint8Array]>, prompts?: Prompts): AsyncGenerator<StreamResult> {
    const done: StreamResult[] = [];
    let wake: (() => void) | undefined;
    let sent = 0;
    let fed = false;
    let feedError: unknown;
    const push = (r: StreamResult) => {
      done.push(r);
      wake?.();
    };
    const feed = (async () => {
      try {
        for await (const [id, image] of items as AsyncIterable<[string, Uint8Array]>) {
          const { requestId, result } = await this.submit(image, { requestId: id, prompts });
          sent++;
          const t0 = Date.now();
          result.then(
            (response) => push({ requestId, response, latencyMs: Date.now() - t0 }),
            (error: InctrlError) => push({ requestId, error, latencyMs: Date.now() - t0 }),
          );
        }
      } catch (e) {
        feedError = e;
      } finally {
        fed = true;
        wake?.();
      }
    })();
    let yielded = 0;
    while (!fed || yielded < sent) {
      if (done.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      yielded++;
      yield done.shift()!;
    }
    await feed;
    if (feedError) throw feedError;
  }

  /** Half-closes and waits until every in-flight request is settled; rejects if the stream broke. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      // the call itself ends once every request is settled (a request may still be resent on it); while
      // restarting, the new call is ended after the resend
      this.endWhenSettled();
    }
    await this.finished;
    if (this.failure && !(this.failure instanceof InternalError)) throw this.failure;
  }

  /** Aborts the stream; in-flight requests reject with CancelledError. */
  cancel(): void {
    this.cancelled = true;
    this.call?.cancel();
  }
}

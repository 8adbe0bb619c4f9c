import type { ClientDuplexStream, ServiceError } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { ScoreRequest, ScoreResponse } from "./gen/inctrl/v1/scoring";
import { InctrlError, InternalError, fromCode, fromCodeName, fromServiceError } from "./errors";

export type Prompts = { shots: Uint8Array[]; category?: string } | { promptSetId: string };

export function buildRequest(image: Uint8Array, prompts: Prompts | undefined, requestId = "", omitMap = false): ScoreRequest {
  const req: ScoreRequest = { requestId, image: Buffer.from(image), omitMap };
  if (prompts && "promptSetId" in prompts && prompts.promptSetId) {
    req.promptSetId = prompts.promptSetId;
  } else if (prompts && "shots" in prompts && prompts.shots.length > 0) {
    req.inline = { shots: prompts.shots.map((s) => Buffer.from(s)), category: prompts.category ?? "" };
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
}

/**
 * One ScoreStream call. `submit` waits while `window` requests are unanswered (backpressure) and returns a
 * promise per request, settled by the response with the same request_id (responses arrive in any order).
 */
export class ScoreStream {
  readonly window: number;
  /** Responses whose request_id was never sent (or was answered twice). */
  readonly unmatched: ScoreResponse[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly waiters: Array<() => void> = [];
  private failure?: InctrlError;
  private ended = false;
  private closing = false;
  private nextId = 0;
  private readonly finished: Promise<void>;

  constructor(
    private readonly call: ClientDuplexStream<ScoreRequest, ScoreResponse>,
    window: number,
    private readonly defaults: { prompts?: Prompts; omitMap?: boolean },
  ) {
    if (window < 1) throw new RangeError("window must be >= 1");
    this.window = window;
    call.on("data", (resp: ScoreResponse) => this.onResponse(resp));
    this.finished = new Promise<void>((resolve) => {
      call.on("error", (e: ServiceError) => {
        this.finish(fromServiceError(e));
        resolve();
      });
      call.on("status", (s: { code: number }) => {
        if (s.code === Status.OK) {
          this.finish(undefined);
          resolve();
        }
      });
    });
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
    this.pending.delete(resp.requestId);
    if (resp.error) p.reject(fromCodeName(resp.error.code, resp.error.message, resp.requestId));
    else p.resolve(resp);
    this.waiters.shift()?.();
  }

  private finish(err: InctrlError | undefined) {
    if (this.ended) return;
    this.ended = true;
    if (!err && this.pending.size > 0) err = new InternalError(Status.INTERNAL, `stream ended with ${this.pending.size} request(s) unanswered`);
    this.failure = err;
    for (const [id, p] of this.pending) p.reject(fromCode(err!.code, err!.details, id));
    this.pending.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends one image; waits for a free slot in the window first. */
  async submit(image: Uint8Array, opts: { requestId?: string; prompts?: Prompts; omitMap?: boolean } = {}): Promise<Submitted> {
    if (this.failure) throw this.failure;
    if (this.ended || this.closing) throw new Error("stream is closed");
    const requestId = opts.requestId || `r${++this.nextId}`;
    const req = buildRequest(image, opts.prompts ?? this.defaults.prompts, requestId, opts.omitMap ?? this.defaults.omitMap ?? false);
    while (this.pending.size >= this.window && !this.ended) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error("stream is closed");
    if (this.pending.has(requestId)) throw new Error(`request_id ${JSON.stringify(requestId)} is already in flight`);
    let pending!: Pending;
    const result = new Promise<ScoreResponse>((resolve, reject) => {
      pending = { resolve, reject, sentAt: Date.now() };
    });
    result.catch(() => undefined); // the caller may never await it; do not crash on unhandled rejection
    this.pending.set(requestId, pending); // registered before writing: the answer may come back at once
    if (!this.call.write(req)) {
      // respect the transport's own buffer too, but do not hang if the stream dies meanwhile
      await Promise.race([new Promise<void>((r) => this.call.once("drain", r)), this.finished]);
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
      if (!this.ended) this.call.end();
    }
    await this.finished;
    if (this.failure && !(this.failure instanceof InternalError)) throw this.failure;
  }

  /** Aborts the stream; in-flight requests reject with CancelledError. */
  cancel(): void {
    this.call.cancel();
  }
}

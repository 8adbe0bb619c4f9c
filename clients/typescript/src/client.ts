import { ChannelCredentials, Metadata, credentials, type CallOptions, type ChannelOptions, type ServiceError } from "@grpc/grpc-js";
import { ModelInfo, ScoreResponse, ScorerClient } from "./gen/inctrl/v1/scoring.js";
import { PromptRegistryClient, PromptSet } from "./gen/inctrl/v1/registry.js";
import { type InctrlError, UnavailableError, fromServiceError } from "./errors.js";
import {
  DEFAULT_RETRY,
  RetryPolicy,
  channelOptions as defaultChannelOptions,
  defaultAuthority,
  grpcTarget,
  hintedDelayMs,
  sleep,
} from "./retry.js";
import { type InspectionMode, Prompts, ScoreStream, buildRequest, inspectionValue } from "./stream.js";

export interface ConnectOptions {
  /** Sent as `x-api-key` metadata on every call. */
  apiKey?: string;
  /** false (default): plaintext h2c. true: TLS with system roots. Or explicit PEM material. */
  tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /** Deadline for unary calls (default 30000 ms; 0 = none). */
  timeoutMs?: number;
  /** gRPC retry policy for UNAVAILABLE (idempotent calls), and the resend budget of streams. */
  retry?: Partial<RetryPolicy>;
  channelOptions?: ChannelOptions;
}

export interface CallOpts {
  timeoutMs?: number;
}

// Inline shots travel with every request; allow messages well above gRPC's 4 MiB default.
const MAX_MESSAGE = 64 * 1024 * 1024;

type Unary<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (e: ServiceError | null, r: Res) => void) => unknown;

export class InctrlClient {
  private readonly scorer: ScorerClient;
  private readonly registry: PromptRegistryClient;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

  readonly address: string;

  /**
   * `address`: host:port, a DNS name with several addresses, or a list (array or comma-separated) of IP:port.
   * gRPC balances calls round-robin over the backends and retries idempotent calls failing with UNAVAILABLE
   * on another one.
   */
  constructor(address: string | string[], private readonly opts: ConnectOptions = {}) {
    this.address = Array.isArray(address) ? address.join(",") : address;
    const target = grpcTarget(address);
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    let creds: ChannelCredentials = credentials.createInsecure();
    if (opts.tls) {
      const t = opts.tls === true ? {} : opts.tls;
      creds = credentials.createSsl(t.rootCerts ?? null, t.privateKey ?? null, t.certChain ?? null);
    }
    const authority = defaultAuthority(address);
    const channelOptions: ChannelOptions = {
      ...defaultChannelOptions(this.retry, MAX_MESSAGE),
      ...(authority ? { "grpc.default_authority": authority } : {}),
      ...opts.channelOptions,
    };
    this.scorer = new ScorerClient(target, creds, channelOptions);
    // share the scorer's channel so both services use one channel (one connection per backend)
    this.registry = new PromptRegistryClient(target, creds, { ...channelOptions, channelOverride: this.scorer.getChannel() });
    this.timeoutMs = opts.timeoutMs ?? 30000;
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.opts.apiKey) md.set("x-api-key", this.opts.apiKey);
    return md;
  }

  /** One call; gRPC retries it per the channel's service config. Rejects with a typed InctrlError. */
  private unary<Req, Res>(client: object, method: Unary<Req, Res>, req: Req, o?: CallOpts): Promise<Res> {
    const timeoutMs = o?.timeoutMs ?? this.timeoutMs;
    const callOpts = timeoutMs > 0 ? { deadline: new Date(Date.now() + timeoutMs) } : {};
    return new Promise<Res>((resolve, reject) => {
      method.call(client, req, this.metadata(), callOpts, (e, r) => (e ? reject(fromServiceError(e)) : resolve(r)));
    });
  }

  /** An idempotent call: also resent after the server's retry hint (see hintedDelayMs), within its deadline. */
  private async idempotent<Req, Res>(client: object, method: Unary<Req, Res>, req: Req, o?: CallOpts): Promise<Res> {
    const timeoutMs = o?.timeoutMs ?? this.timeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
    for (let attempt = 1; ; attempt++) {
      const left = deadline === undefined ? 0 : Math.max(1, deadline - Date.now());
      try {
        return await this.unary(client, method, req, { ...o, timeoutMs: left });
      } catch (e) {
        const err = e as InctrlError;
        const wait = hintedDelayMs(err, attempt, this.retry, deadline === undefined ? undefined : deadline - Date.now());
        if (wait === undefined) throw err;
        await sleep(wait);
      }
    }
  }

  /** Resolves once connected; rejects with UnavailableError after timeoutMs. */
  waitReady(timeoutMs = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.scorer.waitForReady(Date.now() + timeoutMs, (e) =>
        e ? reject(new UnavailableError(14, `cannot reach ${this.address}: ${e.message}`)) : resolve(),
      );
    });
  }

  /** Scores one image against inline shots ({ shots, category }) or a registered prompt set ({ promptSetId }). */
  score(image: Uint8Array, prompts: Prompts, o: CallOpts & { requestId?: string; omitMap?: boolean } = {}): Promise<ScoreResponse> {
    const req = buildRequest(image, prompts, o.requestId ?? "", o.omitMap ?? false);
    return this.idempotent(this.scorer, this.scorer.score as Unary<typeof req, ScoreResponse>, req, o);
  }

  modelInfo(o?: CallOpts): Promise<ModelInfo> {
    return this.idempotent(this.scorer, this.scorer.getModelInfo as Unary<object, ModelInfo>, {}, o);
  }

  /**
   * Opens a ScoreStream with at most `window` unanswered requests. `timeoutMs` is a deadline for the whole
   * stream. When the stream fails with UNAVAILABLE, its unanswered requests are resent on a new stream (another
   * backend), up to `resend` (default: the client's retry policy); otherwise they reject with the mapped error.
   */
  openStream(o: { window?: number; prompts?: Prompts; omitMap?: boolean; timeoutMs?: number; resend?: Partial<RetryPolicy> } = {}): ScoreStream {
    const callOpts: Partial<CallOptions> = o.timeoutMs ? { deadline: new Date(Date.now() + o.timeoutMs) } : {};
    return new ScoreStream(() => this.scorer.scoreStream(this.metadata(), callOpts), o.window ?? 16, o, { ...this.retry, ...o.resend });
  }

  registerPromptSet(
    req: {
      name: string;
      category: string;
      shots: Uint8Array[];
      templateId?: string;
      fp16?: boolean;
      targetFpr?: number;
      inspection?: InspectionMode;
    },
    o?: CallOpts,
  ): Promise<PromptSet> {
    // targetFpr: share of normal images the suggested threshold may flag, in (0, 0.5); absent = the server default
    const r = {
      name: req.name,
      category: req.category,
      shots: req.shots.map((s) => Buffer.from(s)),
      templateId: req.templateId ?? "",
      fp16: req.fp16 ?? false,
      ...(req.targetFpr === undefined ? {} : { targetFpr: req.targetFpr }),
      inspection: inspectionValue(req.inspection), // queries scored against the set use the same mode
    };
    return this.unary(this.registry, this.registry.createPromptSet as Unary<typeof r, PromptSet>, r, o);
  }

  getPromptSet(id: string, o?: CallOpts): Promise<PromptSet> {
    return this.idempotent(this.registry, this.registry.getPromptSet as Unary<{ id: string }, PromptSet>, { id }, o);
  }

  /** Every prompt set of the tenant, following page tokens. */
  async listPromptSets(pageSize = 100, o?: CallOpts): Promise<PromptSet[]> {
    const all: PromptSet[] = [];
    let pageToken = "";
    do {
      const page = await this.idempotent(
        this.registry,
        this.registry.listPromptSets as Unary<{ pageSize: number; pageToken: string }, { promptSets: PromptSet[]; nextPageToken: string }>,
        { pageSize, pageToken },
        o,
      );
      all.push(...page.promptSets);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  async deletePromptSet(id: string, o?: CallOpts): Promise<void> {
    await this.unary(this.registry, this.registry.deletePromptSet as Unary<{ id: string }, object>, { id }, o);
  }

  close(): void {
    this.scorer.close();
    this.registry.close();
  }
}

export function connect(address: string | string[], opts: ConnectOptions = {}): InctrlClient {
  return new InctrlClient(address, opts);
}

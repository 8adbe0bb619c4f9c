import { ChannelCredentials, Metadata, credentials, type CallOptions, type ChannelOptions, type ServiceError } from "@grpc/grpc-js";
import { ModelInfo, ScoreResponse, ScorerClient } from "./gen/inctrl/v1/scoring";
import { PromptRegistryClient, PromptSet } from "./gen/inctrl/v1/registry";
import { UnavailableError } from "./errors";
import { DEFAULT_RETRY, RetryPolicy, withRetry } from "./retry";
import { Prompts, ScoreStream, buildRequest } from "./stream";

export interface ConnectOptions {
  /** Sent as `x-api-key` metadata on every call. */
  apiKey?: string;
  /** false (default): plaintext h2c. true: TLS with system roots. Or explicit PEM material. */
  tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /** Deadline for unary calls (default 30000 ms; 0 = none). */
  timeoutMs?: number;
  /** Backoff for UNAVAILABLE on unary calls. Streams are never replayed. */
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

  constructor(readonly address: string, private readonly opts: ConnectOptions = {}) {
    let creds: ChannelCredentials = credentials.createInsecure();
    if (opts.tls) {
      const t = opts.tls === true ? {} : opts.tls;
      creds = credentials.createSsl(t.rootCerts ?? null, t.privateKey ?? null, t.certChain ?? null);
    }
    const channelOptions: ChannelOptions = {
      "grpc.max_send_message_length": MAX_MESSAGE,
      "grpc.max_receive_message_length": MAX_MESSAGE,
      ...opts.channelOptions,
    };
    this.scorer = new ScorerClient(address, creds, channelOptions);
    // share the scorer's channel so both services use one HTTP/2 connection
    this.registry = new PromptRegistryClient(address, creds, { ...channelOptions, channelOverride: this.scorer.getChannel() });
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.timeoutMs = opts.timeoutMs ?? 30000;
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.opts.apiKey) md.set("x-api-key", this.opts.apiKey);
    return md;
  }

  private unary<Req, Res>(client: object, method: Unary<Req, Res>, req: Req, o?: CallOpts): Promise<Res> {
    return withRetry(
      (deadline) =>
        new Promise<Res>((resolve, reject) => {
          method.call(client, req, this.metadata(), deadline ? { deadline } : {}, (e, r) => (e ? reject(e) : resolve(r)));
        }),
      this.retry,
      o?.timeoutMs ?? this.timeoutMs,
    );
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
    return this.unary(this.scorer, this.scorer.score as Unary<typeof req, ScoreResponse>, req, o);
  }

  modelInfo(o?: CallOpts): Promise<ModelInfo> {
    return this.unary(this.scorer, this.scorer.getModelInfo as Unary<object, ModelInfo>, {}, o);
  }

  /**
   * Opens a ScoreStream with at most `window` unanswered requests. `timeoutMs` is a deadline for the whole
   * stream. A broken stream rejects its in-flight requests with the mapped error.
   */
  openStream(o: { window?: number; prompts?: Prompts; omitMap?: boolean; timeoutMs?: number } = {}): ScoreStream {
    const callOpts: Partial<CallOptions> = o.timeoutMs ? { deadline: new Date(Date.now() + o.timeoutMs) } : {};
    return new ScoreStream(this.scorer.scoreStream(this.metadata(), callOpts), o.window ?? 16, o);
  }

  registerPromptSet(
    req: { name: string; category: string; shots: Uint8Array[]; templateId?: string; fp16?: boolean },
    o?: CallOpts,
  ): Promise<PromptSet> {
    const r = { name: req.name, category: req.category, shots: req.shots.map((s) => Buffer.from(s)), templateId: req.templateId ?? "", fp16: req.fp16 ?? false };
    return this.unary(this.registry, this.registry.createPromptSet as Unary<typeof r, PromptSet>, r, o);
  }

  getPromptSet(id: string, o?: CallOpts): Promise<PromptSet> {
    return this.unary(this.registry, this.registry.getPromptSet as Unary<{ id: string }, PromptSet>, { id }, o);
  }

  /** Every prompt set of the tenant, following page tokens. */
  async listPromptSets(pageSize = 100, o?: CallOpts): Promise<PromptSet[]> {
    const all: PromptSet[] = [];
    let pageToken = "";
    do {
      const page = await this.unary(
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

export function connect(address: string, opts: ConnectOptions = {}): InctrlClient {
  return new InctrlClient(address, opts);
}

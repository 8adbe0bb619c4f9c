import { ChannelCredentials, Metadata, credentials, type CallOptions, type ChannelOptions, type ServiceError } from "@grpc/grpc-js";
import { type ListModelsResponse, ModelInfo, ScoreResponse, ScorerClient } from "./gen/inctrl/v1/scoring.js";
import {
  type AddShotsRequest,
  type ListRevisionsResponse,
  PromptRegistryClient,
  PromptSet,
  type ReencodePromptSetRequest,
  type RemoveShotsRequest,
  type RollbackPromptSetRequest,
  type SetThresholdRequest,
} from "./gen/inctrl/v1/registry.js";
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
import { type InspectionMode, type ModelChoice, Prompts, ScoreStream, buildRequest, inspectionValue } from "./stream.js";

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

  /**
   * Scores one image against inline shots ({ shots, category }) or a registered prompt set ({ promptSetId }), with the
   * model version `model` / `modelVersion` name (default: the routed version of the default model, or of the set's).
   * Scored against a prompt set, the response's `queryId` can confirm the query as a normal shot (`addShots`) while
   * the replica keeps it.
   */
  score(image: Uint8Array, prompts: Prompts, o: CallOpts & { requestId?: string; omitMap?: boolean } & ModelChoice = {}): Promise<ScoreResponse> {
    const req = buildRequest(image, prompts, o.requestId ?? "", o.omitMap ?? false, o);
    return this.idempotent(this.scorer, this.scorer.score as Unary<typeof req, ScoreResponse>, req, o);
  }

  /**
   * Describes one loaded model version (default: the default model's serving version). One the server does not serve
   * rejects with NotFoundError, reason MODEL_NOT_FOUND or MODEL_VERSION_NOT_LOADED.
   */
  modelInfo(o: CallOpts & ModelChoice = {}): Promise<ModelInfo> {
    const req = { model: o.model ?? "", modelVersion: o.modelVersion ?? 0 };
    return this.idempotent(this.scorer, this.scorer.getModelInfo as Unary<typeof req, ModelInfo>, req, o);
  }

  /** The models the server serves (each with its loaded versions, serving/canary/shadow version) and `defaultModel`. */
  listModels(o?: CallOpts): Promise<ListModelsResponse> {
    return this.idempotent(this.scorer, this.scorer.listModels as Unary<object, ListModelsResponse>, {}, o);
  }

  /**
   * Opens a ScoreStream with at most `window` unanswered requests. `timeoutMs` is a deadline for the whole
   * stream. When the stream fails with UNAVAILABLE, its unanswered requests are resent on a new stream (another
   * backend), up to `resend` (default: the client's retry policy); otherwise they reject with the mapped error.
   */
  openStream(
    o: { window?: number; prompts?: Prompts; omitMap?: boolean; timeoutMs?: number; resend?: Partial<RetryPolicy> } & ModelChoice = {},
  ): ScoreStream {
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
      /** The model the set belongs to; absent = the server's default. Its other versions encode it in the background. */
      model?: string;
    },
    o?: CallOpts,
  ): Promise<PromptSet> {
    // targetFpr: share of normal images the suggested threshold may flag, in (0, 0.5); absent = the server default
    const r = {
      model: req.model ?? "",
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

  /**
   * Overrides the decision threshold of one model version's encoding (`modelVersion` 0/absent = the serving version of
   * the set's model; scores of two versions are not comparable), or with `threshold` undefined removes the override.
   * `targetFpr` also changes the set's target false-positive rate (every version's suggestion is refitted).
   */
  setThreshold(id: string, threshold: number | undefined, o: CallOpts & { targetFpr?: number; modelVersion?: number } = {}): Promise<PromptSet> {
    const r: SetThresholdRequest = { id, threshold, targetFpr: o.targetFpr, modelVersion: o.modelVersion ?? 0 };
    return this.unary(this.registry, this.registry.setThreshold as Unary<SetThresholdRequest, PromptSet>, r, o);
  }

  /** Re-encodes the set's stored shots with one loaded version (`modelVersion` 0/absent = the serving version). */
  reencodePromptSet(id: string, o: CallOpts & { modelVersion?: number } = {}): Promise<PromptSet> {
    const r: ReencodePromptSetRequest = { id, modelVersion: o.modelVersion ?? 0 };
    return this.unary(this.registry, this.registry.reencodePromptSet as Unary<ReencodePromptSetRequest, PromptSet>, r, o);
  }

  // addShots, removeShots and rollbackPromptSet make a new revision of the shots: writes, never resent after a retry
  // hint (a resend of an addShots that had arrived would add the shots twice). An AbortedError with reason
  // CONCURRENT_CHANGE means the set's shots changed meanwhile: read the set again and decide again.

  /**
   * Adds normal shots to a set as a new revision of its shots (the old one stays for `rollbackPromptSet`): uploaded
   * images and/or queries scored against the set, confirmed as normal by their `ScoreResponse.queryId` (no second
   * upload). A query the answering replica no longer keeps (with several replicas: possibly one that never scored it)
   * rejects with NotFoundError, reason QUERY_NOT_RETAINED: upload the image instead.
   */
  addShots(id: string, add: { shots?: Uint8Array[]; queryIds?: string[] }, o?: CallOpts): Promise<PromptSet> {
    const r: AddShotsRequest = { id, shots: (add.shots ?? []).map((s) => Buffer.from(s)), queryIds: add.queryIds ?? [] };
    return this.unary(this.registry, this.registry.addShots as Unary<AddShotsRequest, PromptSet>, r, o);
  }

  /** Removes shots by 0-based position in the current revision (as in `calibration.shotScores`); at least one stays. */
  removeShots(id: string, positions: number[], o?: CallOpts): Promise<PromptSet> {
    const r: RemoveShotsRequest = { id, shots: positions };
    return this.unary(this.registry, this.registry.removeShots as Unary<RemoveShotsRequest, PromptSet>, r, o);
  }

  /** The revisions of a set's shots, oldest first, and `current`. A read: resent like getPromptSet. */
  listRevisions(id: string, o?: CallOpts): Promise<ListRevisionsResponse> {
    return this.idempotent(this.registry, this.registry.listRevisions as Unary<{ id: string }, ListRevisionsResponse>, { id }, o);
  }

  /** Points the set at another revision of its shots; its stored encodings serve it again, bit for bit. */
  rollbackPromptSet(id: string, revision: number, o?: CallOpts): Promise<PromptSet> {
    const r: RollbackPromptSetRequest = { id, revision };
    return this.unary(this.registry, this.registry.rollbackPromptSet as Unary<RollbackPromptSetRequest, PromptSet>, r, o);
  }

  close(): void {
    this.scorer.close();
    this.registry.close();
  }
}

export function connect(address: string | string[], opts: ConnectOptions = {}): InctrlClient {
  return new InctrlClient(address, opts);
}

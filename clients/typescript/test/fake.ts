// In-process fake of the InCTRL serve API (same contract, no model). Image bytes decide the behaviour:
// PNG/JPEG/BMP/TIFF magic = decodable, "ANOMALY" = high score, "SLOW" = 500 ms delay.
// Stream answers are delayed per id so they come back out of order.
//
// Models (issue 19) are routed as the server does: FAKE_MODELS lists each model's loaded versions; a request naming no
// model gets FAKE_DEFAULT_MODEL (a prompt set: the set's own), no version the model's serving (highest) version.
// Prompt sets keep revisions of their shots (issue 22); a query scored against a set is kept under its queryId until
// forgetQueries(), so AddShots can confirm it as normal.
import { createHash, randomUUID } from "node:crypto";
import { type Socket, connect as connectTcp, createServer } from "node:net";
import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Duration } from "../src/gen/google/protobuf/duration";
import { ListModelsResponse, ModelInfo, ScoreResponse, ScorerService, type ModelInfoRequest, type ScoreRequest } from "../src/gen/inctrl/v1/scoring";
import {
  type AddShotsRequest, type CreatePromptSetRequest, PromptRegistryService, PromptSet, PromptSetRevision, type ReencodePromptSetRequest,
  type RemoveShotsRequest, type RollbackPromptSetRequest, type SetThresholdRequest,
} from "../src/gen/inctrl/v1/registry";

const PNG = Buffer.from("\x89PNG\r\n\x1a\n", "latin1");
const MAGICS = [PNG, Buffer.from([0xff, 0xd8, 0xff]), Buffer.from("BM"), Buffer.from("II*\x00", "latin1"), Buffer.from("MM\x00*", "latin1")];

export const fakePng = (tag: string, anomaly = false) => Buffer.concat([PNG, Buffer.from(tag + (anomaly ? "ANOMALY" : ""))]);
const hash01 = (b: Uint8Array) => createHash("sha256").update(b).digest().readUInt32BE(0) / 2 ** 32;

export const FAKE_DEFAULT_MODEL = "fake-model";
/** Loaded versions per model, the serving (highest) one first. */
export const FAKE_MODELS: Record<string, number[]> = { "fake-model": [2, 1], "other-model": [7] };

class Fail extends Error {
  constructor(readonly code: status, message: string, readonly reason = "", readonly retryMs?: number) {
    super(message);
  }
}

/** The model and version a request is served by, as the server routes it; NOT_FOUND with the server's reasons. */
function route(model: string, version: number): [string, number] {
  const name = model || FAKE_DEFAULT_MODEL;
  const versions = FAKE_MODELS[name];
  if (!versions) throw new Fail(status.NOT_FOUND, `no model ${name}`, "MODEL_NOT_FOUND");
  if (version && !versions.includes(version)) throw new Fail(status.NOT_FOUND, `${name} has no loaded version ${version}`, "MODEL_VERSION_NOT_LOADED");
  return [name, version || versions[0]];
}

/** google.rpc.Status with ErrorInfo and (retryable) RetryInfo, as the real server puts in grpc-status-details-bin. */
function statusDetails(f: Fail): Metadata {
  const any = (typeUrl: string, value: Uint8Array) =>
    new BinaryWriter().uint32(10).string(typeUrl).uint32(18).bytes(value).finish();
  const w = new BinaryWriter().uint32(8).int32(f.code).uint32(18).string(f.message);
  w.uint32(26).bytes(any("type.googleapis.com/google.rpc.ErrorInfo",
    new BinaryWriter().uint32(10).string(f.reason).uint32(18).string("inctrl.io").finish()));
  if (f.retryMs !== undefined) {
    const delay = Duration.encode({ seconds: Math.floor(f.retryMs / 1000), nanos: (f.retryMs % 1000) * 1e6 }).finish();
    w.uint32(26).bytes(any("type.googleapis.com/google.rpc.RetryInfo", new BinaryWriter().uint32(10).bytes(delay).finish()));
  }
  const md = new Metadata();
  md.set("grpc-status-details-bin", Buffer.from(w.finish()));
  return md;
}

/** Shared by the fakes of a multi-backend test: the first stream to start fails with UNAVAILABLE after failAfter answers. */
export interface StreamPlan {
  failAfter?: number;
}

export class Fake {
  unavailableFirst = 0;
  /** Then this many unary calls fail with QUEUE_FULL and a retry hint, as a busy server does. */
  busyFirst = 0;
  /** Stream ids already refused once ("BUSYONCE" images: QUEUE_FULL with retryAfter the first time). */
  private busyOnce = new Set<string>();
  /** Request ids received on streams, in order. */
  streamIds: string[] = [];
  /** This fake took the plan's failAfter. */
  streamFailed = false;
  calls = 0;
  maxInFlight = 0;
  sets = new Map<string, PromptSet>();
  /** Unary requests as received, per method name. */
  readonly requests = new Map<string, unknown[]>();
  /** Prompt set id -> revision -> shots. */
  readonly shots = new Map<string, Map<number, Buffer[]>>();
  readonly revisions = new Map<string, PromptSetRevision[]>();
  /** "setId/queryId" -> the scored image, while "kept". */
  private queries = new Map<string, Buffer>();
  /** Refuse this many AddShots with ABORTED CONCURRENT_CHANGE and a zero retry hint. */
  conflicts = 0;
  private server = new Server();
  address = "";

  /** name: answers carry it as bundle id, so tests see which backend answered. */
  constructor(readonly apiKey = "secret", readonly name = "fake", private readonly plan: StreamPlan = {}) {}

  /** The requests of one method the fake received, in order. */
  sent<T>(method: string): T[] {
    return (this.requests.get(method) ?? []) as T[];
  }

  /** As a replica whose recent-query retention ran out. */
  forgetQueries(): void {
    this.queries.clear();
  }

  private set(id: string): PromptSet {
    const ps = this.sets.get(id);
    if (!ps) throw new Fail(status.NOT_FOUND, `prompt set ${id} not found`, "NOT_FOUND");
    return ps;
  }

  /** Revision max+1 with these shots, the set pointing at it. */
  private newRevision(ps: PromptSet, shots: Buffer[], reason: string): PromptSet {
    const revs = this.revisions.get(ps.id)!;
    const revision = revs[revs.length - 1].revision + 1;
    this.shots.get(ps.id)!.set(revision, shots);
    revs.push(PromptSetRevision.fromPartial({ revision, shotCount: shots.length, reason }));
    Object.assign(ps, { revision, shotCount: shots.length, version: ps.version + 1 });
    return ps;
  }

  private auth(call: { metadata: { get(k: string): unknown[] } }) {
    if (call.metadata.get("x-api-key")[0] !== this.apiKey) throw new Fail(status.UNAUTHENTICATED, "missing or invalid x-api-key");
  }

  private flaky() {
    if (++this.calls <= this.unavailableFirst) throw new Fail(status.UNAVAILABLE, "warming up");
    if (this.calls - this.unavailableFirst <= this.busyFirst) {
      throw new Fail(status.RESOURCE_EXHAUSTED, "queue full; retry after 50 ms", "QUEUE_FULL", 50);
    }
  }

  private async scoreOne(req: ScoreRequest): Promise<ScoreResponse> {
    if (!MAGICS.some((m) => req.image.subarray(0, m.length).equals(m))) throw new Fail(status.INVALID_ARGUMENT, "image is not PNG, JPEG, BMP or TIFF");
    let model = req.model;
    if (req.promptSetId !== undefined) {
      if (!this.sets.has(req.promptSetId)) throw new Fail(status.NOT_FOUND, `prompt set ${req.promptSetId} not found`);
      model ||= this.sets.get(req.promptSetId)!.model;
    } else if (!req.inline || req.inline.shots.length === 0) {
      throw new Fail(status.INVALID_ARGUMENT, "no shots");
    }
    const [name, version] = route(model, req.modelVersion);
    if (req.image.includes("HUGE")) throw new Fail(status.RESOURCE_EXHAUSTED, "message too large", "PAYLOAD_TOO_LARGE");
    if (req.image.includes("SLOW")) await new Promise((r) => setTimeout(r, 500));
    const s = (req.image.includes("ANOMALY") ? 0.8 : 0.2) + 0.1 * hash01(req.image);
    let queryId = "";
    if (req.promptSetId !== undefined) {
      queryId = randomUUID();
      this.queries.set(`${req.promptSetId}/${queryId}`, req.image);
    }
    return {
      requestId: req.requestId, score: s, sP: s, map: req.omitMap ? [] : [s, s, s, s], mapHeight: 2, mapWidth: 2,
      bundleId: this.name, timings: { decodeUs: 0, preprocessUs: 0, encodeUs: 0, scoreUs: 0, queueUs: 0, totalUs: 1000 },
      error: undefined, model: name, modelVersion: version, queryId,
    };
  }

  private unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res, counted = false, method = "") {
    return async (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
      try {
        this.auth(call);
        if (method) this.requests.set(method, [...this.sent(method), call.request]);
        if (counted) this.flaky();
        cb(null, await fn(call.request));
      } catch (e) {
        const f = e as Fail;
        cb({ code: f.code ?? status.INTERNAL, details: f.message, metadata: f.reason ? statusDetails(f) : undefined } as never, null);
      }
    };
  }

  async start(): Promise<string> {
    this.server.addService(ScorerService, {
      score: this.unary((r: ScoreRequest) => this.scoreOne(r), true, "Score"),
      getModelInfo: this.unary((r: ModelInfoRequest) => {
        const [model, modelVersion] = route(r.model, r.modelVersion);
        return ModelInfo.fromPartial({ bundleId: this.name, kind: "inctrl", arch: "fake", randomWeights: true, model, modelVersion, precision: "fp32" });
      }, true, "GetModelInfo"),
      listModels: this.unary(() => ListModelsResponse.fromPartial({
        defaultModel: FAKE_DEFAULT_MODEL,
        models: Object.entries(FAKE_MODELS).map(([name, versions]) => ({
          name, servingVersion: versions[0],
          versions: versions.map((version) => ({ version, state: "READY", bundleId: `${name}-v${version}`, kind: "inctrl", precision: "fp32", randomWeights: true })),
        })),
      }), true),
      scoreStream: (call: ServerDuplexStream<ScoreRequest, ScoreResponse>) => {
        try {
          this.auth(call);
        } catch (e) {
          call.emit("error", { code: status.UNAUTHENTICATED, details: (e as Error).message });
          return;
        }
        let inFlight = 0;
        let ended = false;
        let dead = false;
        if (this.streamFailed) { // going down: refuses new streams too
          call.emit("error", { code: status.UNAVAILABLE, details: `${this.name} is shutting down` });
          return;
        }
        let failAfter = this.plan.failAfter;
        this.plan.failAfter = undefined;
        const maybeEnd = () => ended && inFlight === 0 && !dead && call.end();
        call.on("data", (req: ScoreRequest) => {
          this.streamIds.push(req.requestId);
          this.maxInFlight = Math.max(this.maxInFlight, ++inFlight);
          setTimeout(async () => {
            let resp: ScoreResponse;
            try {
              if (req.image.includes("BUSYONCE") && !this.busyOnce.has(req.requestId)) {
                this.busyOnce.add(req.requestId);
                throw new Fail(status.RESOURCE_EXHAUSTED, "queue full; retry after 50 ms", "QUEUE_FULL", 50);
              }
              resp = await this.scoreOne(req);
            } catch (e) {
              const f = e as Fail;
              resp = ScoreResponse.fromPartial({
                requestId: req.requestId,
                error: {
                  code: status[f.code], message: f.message, reason: f.reason,
                  retryAfter: f.retryMs === undefined ? undefined : { seconds: 0, nanos: f.retryMs * 1e6 },
                },
              });
            }
            inFlight--;
            if (dead) return;
            if (failAfter !== undefined && failAfter-- === 0) {
              dead = this.streamFailed = true;
              call.emit("error", { code: status.UNAVAILABLE, details: `${this.name} is shutting down` });
              return;
            }
            if (!call.cancelled && !call.destroyed) call.write(resp);
            maybeEnd();
          }, 20 * hash01(Buffer.from(req.requestId)));
        });
        call.on("end", () => {
          ended = true;
          maybeEnd();
        });
        call.on("error", () => undefined);
      },
    });
    this.server.addService(PromptRegistryService, {
      createPromptSet: this.unary((r: CreatePromptSetRequest) => {
        this.flaky();
        if ([...this.sets.values()].some((p) => p.name === r.name)) throw new Fail(status.ALREADY_EXISTS, `prompt set ${r.name} exists`);
        const [model] = route(r.model, 0);
        // echoes the target as the server does; 0.05 stands for the server default when the field is unset
        const ps = PromptSet.fromPartial({
          id: `ps-${this.sets.size + 1}-${r.name}`, name: r.name, category: r.category, shotCount: r.shots.length, version: 1,
          calibration: { targetFpr: r.targetFpr ?? 0.05 }, model, revision: 1,
          // every loaded version encodes the set (the server: in the background)
          encodings: FAKE_MODELS[model].map((v) => ({ model, modelVersion: v, state: "READY", version: 1, calibration: {} })),
        });
        this.sets.set(ps.id, ps);
        this.shots.set(ps.id, new Map([[1, r.shots]]));
        this.revisions.set(ps.id, [PromptSetRevision.fromPartial({ revision: 1, shotCount: r.shots.length, reason: "created" })]);
        return ps;
      }, false, "CreatePromptSet"),
      getPromptSet: this.unary((r: { id: string }) => this.set(r.id)),
      setThreshold: this.unary((r: SetThresholdRequest) => {
        const ps = this.set(r.id);
        const version = r.modelVersion || FAKE_MODELS[ps.model][0];
        const enc = ps.encodings.find((e) => e.modelVersion === version);
        if (!enc) throw new Fail(status.FAILED_PRECONDITION, `not encoded by version ${version}`, "PROMPT_SET_NOT_ENCODED");
        if (r.targetFpr !== undefined) ps.calibration!.targetFpr = r.targetFpr;
        enc.calibration!.thresholdOverridden = r.threshold !== undefined;
        enc.calibration!.threshold = r.threshold ?? 0.5;
        enc.version++;
        ps.version++;
        return ps;
      }, false, "SetThreshold"),
      reencodePromptSet: this.unary((r: ReencodePromptSetRequest) => {
        const ps = this.set(r.id);
        const [, version] = route(ps.model, r.modelVersion);
        ps.encodings.find((e) => e.modelVersion === version)!.version++;
        ps.version++;
        return ps;
      }, false, "ReencodePromptSet"),
      addShots: this.unary((r: AddShotsRequest) => {
        if (this.conflicts > 0) { // the server's answer when the set's shots changed while it encoded the new revision
          this.conflicts--;
          throw new Fail(status.ABORTED, "the set's shots changed meanwhile; retry", "CONCURRENT_CHANGE", 0);
        }
        const ps = this.set(r.id);
        const added = [...r.shots];
        for (const q of r.queryIds) { // after the uploads, in the order named, as the server appends them
          const image = this.queries.get(`${ps.id}/${q}`);
          if (!image) throw new Fail(status.NOT_FOUND, `query ${q} is not kept (any more) on this replica`, "QUERY_NOT_RETAINED");
          added.push(image);
        }
        if (added.length === 0) throw new Fail(status.INVALID_ARGUMENT, "name images or scored queries to add", "NO_SHOTS");
        return this.newRevision(ps, [...this.shots.get(ps.id)!.get(ps.revision)!, ...added], "shots-added");
      }, true, "AddShots"),
      removeShots: this.unary((r: RemoveShotsRequest) => {
        const ps = this.set(r.id);
        const current = this.shots.get(ps.id)!.get(ps.revision)!;
        const drop = new Set(r.shots);
        if (drop.size === 0) throw new Fail(status.INVALID_ARGUMENT, "name the shots to remove", "NO_SHOTS");
        if ([...drop].some((p) => p < 0 || p >= current.length)) throw new Fail(status.INVALID_ARGUMENT, `the set has ${current.length} shots`, "INVALID_SHOT");
        if (drop.size === current.length) throw new Fail(status.INVALID_ARGUMENT, "a prompt set keeps at least one shot", "NO_SHOTS");
        return this.newRevision(ps, current.filter((_, i) => !drop.has(i)), "shots-removed");
      }, false, "RemoveShots"),
      listRevisions: this.unary((r: { id: string }) => {
        const ps = this.set(r.id);
        return { revisions: this.revisions.get(ps.id)!, current: ps.revision };
      }, true, "ListRevisions"),
      rollbackPromptSet: this.unary((r: RollbackPromptSetRequest) => {
        const ps = this.set(r.id);
        const shots = this.shots.get(ps.id)!.get(r.revision);
        if (!shots) throw new Fail(status.NOT_FOUND, `prompt set has no revision ${r.revision}`, "REVISION_NOT_FOUND");
        return Object.assign(ps, { revision: r.revision, shotCount: shots.length, version: ps.version + 1 });
      }, true, "RollbackPromptSet"),
      listPromptSets: this.unary((r: { pageSize: number; pageToken: string }) => {
        const ids = [...this.sets.keys()].sort();
        const start = Number(r.pageToken || 0);
        const end = Math.min(ids.length, start + (r.pageSize || 100));
        return { promptSets: ids.slice(start, end).map((i) => this.sets.get(i)!), nextPageToken: end < ids.length ? String(end) : "" };
      }),
      deletePromptSet: this.unary((r: { id: string }) => {
        if (!this.sets.delete(r.id)) throw new Fail(status.NOT_FOUND, `prompt set ${r.id} not found`);
        return {};
      }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/**
 * A TCP proxy in front of a backend; kill() drops every connection at once, as when the backend's process or
 * host dies (the client sees UNAVAILABLE, not a graceful shutdown).
 */
export async function tcpProxy(target: string): Promise<{ address: string; kill: () => void }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    kill: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

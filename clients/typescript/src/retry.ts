import type { ChannelOptions } from "@grpc/grpc-js";
import { isIP } from "node:net";

/**
 * gRPC's retry policy for UNAVAILABLE: @grpc/grpc-js itself retries the idempotent calls (Score, GetModelInfo,
 * ListModels, GetPromptSet, ListPromptSets, ListRevisions), on another backend when there are several, with exponential backoff randomised
 * in [0, backoff]; gRPC caps maxAttempts at 5. The client also resends those calls, up to maxAttempts, when the
 * server refused them with a retry hint (google.rpc.RetryInfo: QUEUE_FULL, RATE_LIMITED, ...), after that hint; a
 * refusal without one is never retried. ScoreStream resends its unanswered requests with the same shape, and a
 * request answered with an `error` that has `retryAfter` after that delay.
 */
export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 5000, multiplier: 2 };
export const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 1 };

/**
 * Idempotent calls; writes (CreatePromptSet, DeletePromptSet, SetThreshold, ReencodePromptSet, AddShots, RemoveShots,
 * RollbackPromptSet) are only retried by gRPC's transparent retry (they never reached a server).
 */
export const RETRIED_METHODS: Array<[string, string]> = [
  ["inctrl.v1.Scorer", "Score"],
  ["inctrl.v1.Scorer", "GetModelInfo"],
  ["inctrl.v1.Scorer", "ListModels"],
  ["inctrl.v1.PromptRegistry", "GetPromptSet"],
  ["inctrl.v1.PromptRegistry", "ListPromptSets"],
  ["inctrl.v1.PromptRegistry", "ListRevisions"],
];

/** Inline shots make requests large; gRPC can only retry a call whose request it still holds. */
const RETRY_BUFFER_BYTES = 16 * 1024 * 1024;

/**
 * How long (ms) to wait before attempt `attempt + 1` of an idempotent call that failed with `err`, or undefined when
 * it must not be retried: only a refusal carrying the server's retry hint (google.rpc.RetryInfo, present exactly for
 * retryable reasons such as QUEUE_FULL and RATE_LIMITED) is, after that hint, within `maxAttempts` and the time left
 * before the deadline. UNAVAILABLE is left to gRPC's own retry policy (it honours the server's pushback), so
 * attempts do not multiply.
 */
export function hintedDelayMs(
  err: { code: number; retryAfterMs?: number },
  attempt: number,
  p: RetryPolicy,
  msLeft?: number,
): number | undefined {
  if (attempt >= p.maxAttempts || err.retryAfterMs === undefined || err.code === 14 /* UNAVAILABLE */) return undefined;
  if (msLeft !== undefined && msLeft <= err.retryAfterMs) return undefined; // would answer after the deadline
  return err.retryAfterMs;
}

/** Upper bound of the delay before retry number n (1-based). */
export function backoffMs(p: RetryPolicy, n: number): number {
  return Math.min(p.maxBackoffMs, p.initialBackoffMs * Math.pow(p.multiplier, n - 1));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The service config the client's channel uses: round_robin over every backend, `p` for idempotent calls. */
export function serviceConfig(p: RetryPolicy): object {
  const cfg: Record<string, unknown> = { loadBalancingConfig: [{ round_robin: {} }] };
  if (p.maxAttempts > 1) {
    cfg.methodConfig = [
      {
        name: RETRIED_METHODS.map(([service, method]) => ({ service, method })),
        retryPolicy: {
          maxAttempts: Math.min(p.maxAttempts, 5),
          initialBackoff: `${p.initialBackoffMs / 1000}s`,
          maxBackoff: `${p.maxBackoffMs / 1000}s`,
          backoffMultiplier: p.multiplier,
          retryableStatusCodes: ["UNAVAILABLE"],
        },
      },
    ];
  }
  return cfg;
}

export function channelOptions(p: RetryPolicy, maxMessage: number): ChannelOptions {
  return {
    "grpc.max_send_message_length": maxMessage,
    "grpc.max_receive_message_length": maxMessage,
    "grpc.service_config": JSON.stringify(serviceConfig(p)),
    "grpc.enable_retries": 1,
    "grpc.per_rpc_retry_buffer_size": RETRY_BUFFER_BYTES,
    "grpc.retry_buffer_size": 4 * RETRY_BUFFER_BYTES,
    // pings notice a backend that vanished without closing its connections (the server permits 20 s)
    "grpc.keepalive_time_ms": 30000,
    "grpc.keepalive_timeout_ms": 10000,
    "grpc.keepalive_permit_without_calls": 0, // idle connections are not pinged (a server counts those as abuse)
  };
}

/**
 * One address passes through (grpc-js's dns resolver yields every address of a name, and round_robin uses them
 * all). Several comma-separated (or listed) addresses become a static `ipv4:`/`ipv6:` target; they must be IP
 * addresses (or localhost): for host names, use one DNS name that resolves to every replica.
 */
export function grpcTarget(address: string | string[]): string {
  const parts = (Array.isArray(address) ? address : address.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new TypeError("no server address given");
  if (parts.length === 1) return parts[0];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const p of parts) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(p);
    if (!m) throw new TypeError(`address ${JSON.stringify(p)} is not host:port`);
    const host = m[1] ?? (m[2] === "localhost" ? "127.0.0.1" : m[2]);
    const kind = isIP(host);
    if (kind === 4) v4.push(`${host}:${m[3]}`);
    else if (kind === 6) v6.push(`[${host}]:${m[3]}`);
    else throw new TypeError(`address list entry ${JSON.stringify(p)}: use IP addresses in a list, or one DNS name resolving to every replica`);
  }
  if (v4.length > 0 && v6.length > 0) throw new TypeError("an address list must be all IPv4 or all IPv6");
  return v4.length > 0 ? `ipv4:${v4.join(",")}` : `ipv6:${v6.join(",")}`;
}

/**
 * The :authority for a list target: its first entry. grpc-js would otherwise send the whole comma-separated list,
 * which HTTP/2 servers (the real one included) reject as a malformed authority.
 */
export function defaultAuthority(address: string | string[]): string | undefined {
  const parts = (Array.isArray(address) ? address : address.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  return parts.length > 1 ? parts[0] : undefined;
}

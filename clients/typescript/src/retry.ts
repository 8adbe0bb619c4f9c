import { UnavailableError, fromServiceError } from "./errors";

export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  /** +/- fraction applied to each delay, spreads out retry storms. */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 5000, multiplier: 2, jitter: 0.2 };
export const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 1 };

/** Delay before retry number n (1-based). */
export function backoffMs(p: RetryPolicy, n: number, rnd: () => number = Math.random): number {
  const base = Math.min(p.maxBackoffMs, p.initialBackoffMs * Math.pow(p.multiplier, n - 1));
  return base * (1 + p.jitter * (2 * rnd() - 1));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs fn(deadline) and retries only UNAVAILABLE with exponential backoff, never sleeping past the overall
 * deadline. Rejects with a typed InctrlError.
 */
export async function withRetry<T>(
  fn: (deadline: Date | undefined) => Promise<T>,
  policy: RetryPolicy,
  timeoutMs: number | undefined,
  wait: (ms: number) => Promise<void> = sleep,
  now: () => number = Date.now,
): Promise<T> {
  const deadline = timeoutMs && timeoutMs > 0 ? new Date(now() + timeoutMs) : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(deadline);
    } catch (e) {
      const err = fromServiceError(e);
      if (!(err instanceof UnavailableError) || attempt >= policy.maxAttempts) throw err;
      const d = backoffMs(policy, attempt);
      if (deadline && now() + d >= deadline.getTime()) throw err;
      await wait(d);
    }
  }
}

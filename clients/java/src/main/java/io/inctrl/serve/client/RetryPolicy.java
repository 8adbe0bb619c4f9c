package io.inctrl.serve.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * gRPC's retry policy for calls failing with UNAVAILABLE: grpc-java itself retries the idempotent calls (Score,
 * GetModelInfo, ListModels, GetPromptSet, ListPromptSets, ListRevisions), on another backend when there are several, with exponential
 * backoff randomised in [0, backoff]; gRPC caps attempts at 5. The client also retries those calls, up to
 * {@code maxAttempts}, when the server refused them with a retry hint (google.rpc.RetryInfo: QUEUE_FULL,
 * RATE_LIMITED, ...), after that hint; a refusal without a hint is never retried. {@link ScoreStream} resends its
 * unanswered requests with the same shape, and a request answered with an {@code Error} that has
 * {@code retry_after} after that delay.
 *
 * @param maxAttempts total attempts including the first; 1 disables retries
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier) {
    public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(100), Duration.ofSeconds(5), 2.0);
    public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ofMillis(100), Duration.ofMillis(100), 1.0);

    /**
     * Idempotent calls; writes (CreatePromptSet, DeletePromptSet, SetThreshold, ReencodePromptSet, AddShots,
     * RemoveShots, RollbackPromptSet) are only retried by gRPC's transparent retry (they never reached a server).
     */
    static final List<String[]> RETRIED_METHODS = List.of(
            new String[] {"inctrl.v1.Scorer", "Score"},
            new String[] {"inctrl.v1.Scorer", "GetModelInfo"},
            new String[] {"inctrl.v1.Scorer", "ListModels"},
            new String[] {"inctrl.v1.PromptRegistry", "GetPromptSet"},
            new String[] {"inctrl.v1.PromptRegistry", "ListPromptSets"},
            new String[] {"inctrl.v1.PromptRegistry", "ListRevisions"});

    public RetryPolicy {
        if (maxAttempts < 1
                || initialBackoff.isNegative()
                || initialBackoff.isZero()
                || maxBackoff.isNegative()
                || maxBackoff.isZero()
                || multiplier <= 0) {
            throw new IllegalArgumentException("retry policy needs maxAttempts >= 1 and positive backoff values");
        }
    }

    /** Upper bound of the delay before retry number {@code n} (1-based). */
    public Duration backoff(int n) {
        return Duration.ofNanos(
                (long) Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() * Math.pow(multiplier, n - 1)));
    }

    /**
     * How long to wait before attempt {@code attempt + 1} of an idempotent call that failed with {@code e}, or empty
     * when it must not be retried: only failures carrying the server's retry hint (google.rpc.RetryInfo, present
     * exactly for retryable reasons such as QUEUE_FULL and RATE_LIMITED) are, after that hint, within
     * {@link #maxAttempts()} and the call's {@code deadlineNanos} (null = none). UNAVAILABLE is left to gRPC's own
     * retry policy (which honours the server's pushback), so attempts do not multiply.
     */
    Optional<Duration> hintedDelay(InctrlException e, int attempt, Long deadlineNanosLeft) {
        if (attempt >= maxAttempts
                || e.code() == io.grpc.Status.Code.UNAVAILABLE
                || e.retryAfter().isEmpty()) {
            return Optional.empty();
        }
        Duration wait = e.retryAfter().get();
        if (deadlineNanosLeft != null && deadlineNanosLeft <= wait.toNanos()) {
            return Optional.empty(); // the answer would come after the caller's deadline: report the refusal now
        }
        return Optional.of(wait);
    }

    /** A delay in [0, backoff(n)), as gRPC's own retries wait. */
    Duration jittered(int n) {
        return Duration.ofNanos(
                (long) (ThreadLocalRandom.current().nextDouble() * backoff(n).toNanos()));
    }

    /**
     * The service config the client's channel uses, in grpc-java's JSON-as-Map form (numbers are Doubles):
     * round_robin over every resolved backend, this policy for the idempotent calls.
     */
    public Map<String, Object> serviceConfig() {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("loadBalancingConfig", List.of(Map.of("round_robin", Map.of())));
        if (maxAttempts > 1) {
            List<Map<String, Object>> names = new ArrayList<>();
            for (String[] m : RETRIED_METHODS) {
                names.add(Map.of("service", m[0], "method", m[1]));
            }
            Map<String, Object> retry = new LinkedHashMap<>();
            retry.put("maxAttempts", (double) Math.min(maxAttempts, 5));
            retry.put("initialBackoff", seconds(initialBackoff));
            retry.put("maxBackoff", seconds(maxBackoff));
            retry.put("backoffMultiplier", multiplier);
            retry.put("retryableStatusCodes", List.of("UNAVAILABLE"));
            cfg.put("methodConfig", List.of(Map.of("name", names, "retryPolicy", retry)));
        }
        return cfg;
    }

    private static String seconds(Duration d) {
        return java.math.BigDecimal.valueOf(d.toNanos(), 9).stripTrailingZeros().toPlainString() + "s";
    }
}

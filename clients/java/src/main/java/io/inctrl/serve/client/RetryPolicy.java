package io.inctrl.serve.client;

import io.grpc.Deadline;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.Function;

/**
 * Exponential backoff with jitter for calls failing with UNAVAILABLE.
 *
 * @param maxAttempts total attempts including the first; 1 disables retries
 * @param jitter      +/- fraction applied to each delay, spreads out retry storms
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier, double jitter) {
  public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(100), Duration.ofSeconds(5), 2.0, 0.2);
  public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 1.0, 0.0);

  /** Delay before retry number {@code n} (1-based); {@code rnd} yields values in [0,1). */
  public Duration backoff(int n, DoubleSupplier rnd) {
    double d = Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() * Math.pow(multiplier, n - 1));
    return Duration.ofNanos((long) (d * (1 + jitter * (2 * rnd.getAsDouble() - 1))));
  }

  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  static final Sleeper REAL_SLEEP = d -> TimeUnit.NANOSECONDS.sleep(d.toNanos());

  /**
   * Runs {@code call(deadline)}; retries only UNAVAILABLE and never sleeps past {@code deadline} (may be null).
   * Failures come out mapped to {@link InctrlException}.
   */
  <T> T run(Deadline deadline, Function<Deadline, T> call, Sleeper sleeper) {
    for (int attempt = 1; ; attempt++) {
      InctrlException err;
      try {
        return call.apply(deadline);
      } catch (RuntimeException e) {
        err = InctrlException.from(e);
      }
      if (!(err instanceof InctrlException.Unavailable) || attempt >= maxAttempts) {
        throw err;
      }
      Duration d = backoff(attempt, () -> ThreadLocalRandom.current().nextDouble());
      if (deadline != null && deadline.timeRemaining(TimeUnit.NANOSECONDS) <= d.toNanos()) {
        throw err;
      }
      try {
        sleeper.sleep(d);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw err;
      }
    }
  }
}

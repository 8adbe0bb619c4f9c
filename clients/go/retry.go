package inctrl

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy retries calls that fail with UNAVAILABLE using exponential backoff with jitter.
type RetryPolicy struct {
	MaxAttempts    int           // total attempts including the first; 1 disables retries
	InitialBackoff time.Duration // delay before the first retry
	MaxBackoff     time.Duration
	Multiplier     float64
	Jitter         float64 // +/- fraction of each delay, spreads out retry storms
}

// DefaultRetryPolicy: 4 attempts, 100ms, 200ms, 400ms (+/-20%).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Multiplier: 2, Jitter: 0.2}
}

// NoRetry makes every call a single attempt.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// Backoff is the delay before retry number n (1-based); rnd returns values in [0,1).
func (p RetryPolicy) Backoff(n int, rnd func() float64) time.Duration {
	d := float64(p.InitialBackoff)
	for i := 1; i < n; i++ {
		d *= p.Multiplier
		if p.MaxBackoff > 0 && d > float64(p.MaxBackoff) {
			break
		}
	}
	if p.MaxBackoff > 0 && d > float64(p.MaxBackoff) {
		d = float64(p.MaxBackoff)
	}
	if p.Jitter > 0 && rnd != nil {
		d *= 1 + p.Jitter*(2*rnd()-1)
	}
	return time.Duration(d)
}

// sleeper is swapped in tests.
type sleeper func(ctx context.Context, d time.Duration) error

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withRetry runs fn until it succeeds, fails with something other than UNAVAILABLE, runs out of attempts,
// or the next delay would pass ctx's deadline. Errors come back mapped to *Error.
func withRetry(ctx context.Context, p RetryPolicy, sleep sleeper, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := FromError(fn(ctx))
		if err == nil || !errors.Is(err, ErrUnavailable) || attempt >= p.MaxAttempts {
			return err
		}
		d := p.Backoff(attempt, rand.Float64)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			return err
		}
		if sleep(ctx, d) != nil {
			return err
		}
	}
}

package inctrl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Several backends: round_robin, gRPC's retry onto another backend, and the stream's resend of unanswered ids.

func twoFakes(t *testing.T) ([]*fake, string) {
	plan := &streamPlan{}
	a, addrA := startNamedFake(t, "fake-a", plan)
	b, addrB := startNamedFake(t, "fake-b", plan)
	return []*fake{a, b}, addrA + "," + addrB
}

func TestUnaryCallsSpreadOverBackendsAndSurviveOneGoingDown(t *testing.T) {
	fakes, addrs := twoFakes(t)
	c := connectFake(t, addrs, "secret")
	seen := map[string]bool{}
	for i := 0; i < 100 && len(seen) < 2; i++ {
		r, err := c.Score(context.Background(), fakePNG(fmt.Sprint("q", i), false), Inline("x", shots...))
		if err != nil {
			t.Fatal(err)
		}
		seen[r.BundleId] = true
	}
	if !seen["fake-a"] || !seen["fake-b"] {
		t.Fatalf("round robin reached %v", seen)
	}
	fakes[0].stop()
	for i := 0; i < 20; i++ {
		r, err := c.Score(context.Background(), fakePNG(fmt.Sprint("after", i), false), Inline("x", shots...))
		if err != nil || r.BundleId != "fake-b" {
			t.Fatalf("after fake-a stopped: %v %v", r, err)
		}
	}
}

// connectBoth connects to both fakes and returns once round_robin has reached each of them: it picks among READY
// backends only, so a stream opened before the second one is READY could be "resent" to the same backend.
func connectBoth(t *testing.T, addrs string) *Client {
	t.Helper()
	c := connectFake(t, addrs, "secret")
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		r, err := c.Score(context.Background(), fakePNG(fmt.Sprint("warm", i), false), Inline("x", shots...))
		if err != nil {
			t.Fatal(err)
		}
		seen[r.BundleId] = true
	}
	if len(seen) < 2 {
		t.Fatalf("round robin reached only %v", seen)
	}
	return c
}

// streamAll sends ids over one stream; after the stop-th result it calls onResult (nil: nothing).
func streamAll(t *testing.T, c *Client, ids []string, opts StreamOptions, stopAt int, onResult func()) (*Stream, []Result) {
	t.Helper()
	opts.Window, opts.Defaults = 8, Inline("x", shots...)
	s, err := c.OpenStream(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var results []Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := range s.Results() {
			results = append(results, r)
			if len(results) == stopAt && onResult != nil {
				onResult()
			}
		}
	}()
	for _, id := range ids {
		if _, err := s.Send(context.Background(), id, fakePNG(id, false)); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return s, results
}

func checkExactlyOnce(t *testing.T, fakes []*fake, ids []string, results []Result, deadAnswered int) {
	t.Helper()
	dead, alive := fakes[0], fakes[1]
	if !dead.streamFailed && len(dead.streamIDs) == 0 || alive.streamFailed {
		dead, alive = alive, dead
	}
	count := map[string]int{}
	byDead := map[string]bool{}
	for _, r := range results {
		count[r.RequestID]++
		if r.Err != nil {
			t.Fatalf("%s failed: %v", r.RequestID, r.Err)
		}
		if r.Response.BundleId == dead.name {
			byDead[r.RequestID] = true
		}
	}
	for _, id := range ids {
		if count[id] != 1 {
			t.Fatalf("%s reported %d times", id, count[id])
		}
	}
	if len(results) != len(ids) || (deadAnswered > 0 && len(byDead) != deadAnswered) {
		t.Fatalf("%d results, %d answered by %s", len(results), len(byDead), dead.name)
	}
	alive.mu.Lock()
	defer alive.mu.Unlock()
	for _, id := range alive.streamIDs {
		if byDead[id] {
			t.Fatalf("%s was answered by %s and still resent to %s", id, dead.name, alive.name)
		}
	}
	if len(alive.streamIDs) != len(ids)-len(byDead) {
		t.Fatalf("%s received %d ids, want %d", alive.name, len(alive.streamIDs), len(ids)-len(byDead))
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("img-", i)
	}
	return out
}

func TestStreamResendsUnansweredIDsToAnotherBackendOnUnavailable(t *testing.T) {
	fakes, addrs := twoFakes(t)
	fakes[0].plan.failAfter = 10
	c := connectBoth(t, addrs)
	s, results := streamAll(t, c, ids(60), StreamOptions{}, 0, nil)
	if s.Err() != nil || s.Restarts() != 1 || len(s.Unmatched()) != 0 {
		t.Fatalf("err=%v restarts=%d unmatched=%d", s.Err(), s.Restarts(), len(s.Unmatched()))
	}
	checkExactlyOnce(t, fakes, ids(60), results, 10)
}

func TestStreamSurvivesItsBackendBeingStopped(t *testing.T) {
	fakes, addrs := twoFakes(t)
	c := connectBoth(t, addrs)
	var stopped *fake
	s, results := streamAll(t, c, ids(60), StreamOptions{}, 10, func() {
		for _, f := range fakes {
			f.mu.Lock()
			carrying := len(f.streamIDs) > 0
			f.mu.Unlock()
			if carrying {
				stopped = f
				f.stop()
				return
			}
		}
	})
	if stopped == nil || s.Err() != nil || s.Restarts() < 1 {
		t.Fatalf("stopped=%v err=%v restarts=%d", stopped, s.Err(), s.Restarts())
	}
	if stopped != fakes[0] {
		fakes[0], fakes[1] = fakes[1], fakes[0]
	}
	checkExactlyOnce(t, fakes, ids(60), results, 0)
}

func TestStreamWithoutResendFailsUnansweredIDsWithUnavailable(t *testing.T) {
	fakes, addrs := twoFakes(t)
	fakes[0].plan.failAfter = 3
	c := connectFake(t, addrs, "secret")
	s, err := c.OpenStream(context.Background(), StreamOptions{Window: 8, Defaults: Inline("x", shots...), Resend: NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if _, err := s.Send(context.Background(), fmt.Sprint("i", i), fakePNG(fmt.Sprint(i), false)); err != nil {
			t.Fatal(err)
		}
	}
	ok, unavailable := 0, 0
	for r := range s.Results() {
		switch {
		case r.Err == nil:
			ok++
		case errors.Is(r.Err, ErrUnavailable):
			unavailable++
		default:
			t.Fatalf("%s: %v", r.RequestID, r.Err)
		}
	}
	if ok != 3 || unavailable != 5 || s.Restarts() != 0 {
		t.Fatalf("ok=%d unavailable=%d restarts=%d", ok, unavailable, s.Restarts())
	}
}

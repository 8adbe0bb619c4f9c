package inctrl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

var fast = RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Multiplier: 2}

var shots = [][]byte{fakePNG("shot1", false), fakePNG("shot2", false)}

func connectFake(t *testing.T, addr, key string, opts ...Option) *Client {
	t.Helper()
	c, err := Connect(addr, append([]Option{WithAPIKey(key), WithRetry(fast), WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// ---- error mapping -------------------------------------------------------------------------------------------

func TestFromCodeName(t *testing.T) {
	cases := map[string]*Error{
		"INVALID_ARGUMENT": ErrInvalidArgument, "UNAUTHENTICATED": ErrUnauthenticated, "NOT_FOUND": ErrNotFound,
		"RESOURCE_EXHAUSTED": ErrResourceExhausted, "UNAVAILABLE": ErrUnavailable, "DEADLINE_EXCEEDED": ErrDeadlineExceeded,
		"permission_denied": ErrPermissionDenied, "ALREADY_EXISTS": ErrAlreadyExists, "INTERNAL": ErrInternal,
		"ABORTED": ErrAborted,
	}
	for name, want := range cases {
		err := FromCodeName(name, "msg", "id7")
		if !errors.Is(err, want) || err.Message != "msg" || err.RequestID != "id7" || !strings.Contains(err.Error(), "id7") {
			t.Errorf("%s -> %v", name, err)
		}
	}
	if e := FromCodeName("NOPE", "", ""); e.Code != codes.Unknown {
		t.Errorf("unknown name -> %v", e.Code)
	}
	if errors.Is(FromCodeName("NOT_FOUND", "", ""), ErrInvalidArgument) {
		t.Error("different codes must not match")
	}
}

func TestFromError(t *testing.T) {
	err := FromError(status.Error(codes.ResourceExhausted, "queue full"))
	var ie *Error
	if !errors.As(err, &ie) || !errors.Is(err, ErrResourceExhausted) || ie.Message != "queue full" {
		t.Fatalf("got %v", err)
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Error("GRPCStatus must expose the code")
	}
	if !errors.Is(FromError(context.DeadlineExceeded), ErrDeadlineExceeded) || FromError(nil) != nil {
		t.Error("context / nil mapping")
	}
}

// ---- retry -----------------------------------------------------------------------------------------------------

func TestBackoffExponentialCapped(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Multiplier: 2}
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, p.Backoff(n))
	}
	want := []time.Duration{100, 200, 400, 500, 500}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff %v, want %v ms", got, want)
		}
	}
	for i := 0; i < 100; i++ {
		if d := p.jittered(2); d < 0 || d >= 200*time.Millisecond {
			t.Fatalf("jittered delay %v outside [0, 200ms)", d)
		}
	}
}

func TestServiceConfigRoundRobinAndRetryOfIdempotentCalls(t *testing.T) {
	var cfg struct {
		LoadBalancingConfig []map[string]any
		MethodConfig        []struct {
			Name        []struct{ Service, Method string }
			RetryPolicy struct {
				MaxAttempts                int
				InitialBackoff, MaxBackoff string
				BackoffMultiplier          float64
				RetryableStatusCodes       []string
			}
		}
	}
	p := RetryPolicy{MaxAttempts: 9, InitialBackoff: 250 * time.Millisecond, MaxBackoff: 2 * time.Second, Multiplier: 3}
	if err := json.Unmarshal([]byte(ServiceConfig(p)), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.LoadBalancingConfig) != 1 || cfg.LoadBalancingConfig[0]["round_robin"] == nil || len(cfg.MethodConfig) != 1 {
		t.Fatalf("config %s", ServiceConfig(p))
	}
	mc := cfg.MethodConfig[0]
	var names []string
	for _, n := range mc.Name {
		names = append(names, n.Service+"/"+n.Method)
	}
	sort.Strings(names)
	want := "inctrl.v1.PromptRegistry/GetPromptSet inctrl.v1.PromptRegistry/ListPromptSets inctrl.v1.PromptRegistry/ListRevisions " +
		"inctrl.v1.Scorer/GetModelInfo inctrl.v1.Scorer/ListModels inctrl.v1.Scorer/Score"
	rp := mc.RetryPolicy
	if strings.Join(names, " ") != want || rp.MaxAttempts != 5 || rp.InitialBackoff != "0.25s" || rp.MaxBackoff != "2s" ||
		rp.BackoffMultiplier != 3 || len(rp.RetryableStatusCodes) != 1 || rp.RetryableStatusCodes[0] != "UNAVAILABLE" {
		t.Fatalf("method config %+v", mc)
	}
	if strings.Contains(ServiceConfig(NoRetry), "methodConfig") {
		t.Fatalf("NoRetry still retries: %s", ServiceConfig(NoRetry))
	}
}

func TestTargets(t *testing.T) {
	if tgt, r, err := target("localhost:9000"); err != nil || r != nil || tgt != "localhost:9000" {
		t.Fatalf("single: %q %v %v", tgt, r, err)
	}
	tgt, r, err := target("127.0.0.1:9001, 127.0.0.1:9002")
	if err != nil || r == nil || !strings.HasPrefix(tgt, r.Scheme()+":///") {
		t.Fatalf("list: %q %v %v", tgt, r, err)
	}
	for _, bad := range []string{"", " , ", "127.0.0.1:1,nohostport"} {
		if _, _, err := target(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// ---- unary against the fake ----------------------------------------------------------------------------------

func TestScoreInlineAndErrors(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	r, err := c.Score(ctx, fakePNG("q", true), Inline("transistor", shots...))
	if err != nil || r.Score < 0.7 || len(r.Map) != 4 {
		t.Fatalf("score: %v %v", r, err)
	}
	if _, err := c.Score(ctx, []byte("not an image"), Inline("x", shots...)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("undecodable image: %v", err)
	}
	if _, err := c.Score(ctx, fakePNG("q", false), Prompts{}); err == nil {
		t.Fatal("missing prompts must fail client-side")
	}
	bad := connectFake(t, addr, "wrong")
	if _, err := bad.Score(ctx, fakePNG("q", false), Inline("x", shots...)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestRetriesUnavailable(t *testing.T) {
	f, addr := startFake(t)
	f.unavailableFirst = 2
	c := connectFake(t, addr, "secret")
	if info, err := c.ModelInfo(context.Background()); err != nil || info.BundleId != "fake" || f.calls != 3 {
		t.Fatalf("info=%v err=%v calls=%d", info, err, f.calls)
	}
	f.mu.Lock()
	f.unavailableFirst, f.calls = 100, 0
	f.mu.Unlock()
	if _, err := c.ModelInfo(context.Background()); !errors.Is(err, ErrUnavailable) || f.calls != 4 {
		t.Fatalf("err=%v calls=%d", err, f.calls)
	}
}

// Issue 20 item 7: the client resends after the server's retry hint, and only then.
func TestRetriesARefusalCarryingTheServersRetryHintAndNoOther(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	f.mu.Lock()
	f.busyFirst = 2 // QUEUE_FULL with RetryInfo twice, then served
	f.mu.Unlock()
	if r, err := c.Score(ctx, fakePNG("q", false), Inline("x", shots...)); err != nil || r.BundleId != "fake" || f.calls != 3 {
		t.Fatalf("busy twice: r=%v err=%v calls=%d", r, err, f.calls)
	}
	f.mu.Lock()
	f.calls, f.busyFirst = 0, 0
	f.mu.Unlock()
	_, err := c.Score(ctx, fakePNG("HUGE", false), Inline("x", shots...))
	var e *Error
	if !errors.As(err, &e) || e.Code != codes.ResourceExhausted || e.Reason != "PAYLOAD_TOO_LARGE" || e.Retryable || f.calls != 1 {
		t.Fatalf("a refusal without a hint must not be retried: err=%v calls=%d", err, f.calls)
	}
	f.mu.Lock()
	f.calls, f.busyFirst = 0, 100
	f.mu.Unlock()
	_, err = c.Score(ctx, fakePNG("q", false), Inline("x", shots...))
	if !errors.As(err, &e) || e.Reason != "QUEUE_FULL" || !e.Retryable || e.RetryAfter != 50*time.Millisecond || f.calls != 4 {
		t.Fatalf("still busy after the policy's attempts: err=%v calls=%d", err, f.calls)
	}
}

func TestStreamResendsAnItemAnsweredWithRetryAfterAndFailsOneWithout(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	s, err := c.OpenStream(context.Background(), StreamOptions{Window: 4, Defaults: Inline("x", shots...)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"busy", "huge"} {
		tag := map[string]string{"busy": "BUSYONCE", "huge": "HUGE"}[id]
		if _, err := s.Send(context.Background(), id, fakePNG(tag, false)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.CloseSend()
	got := map[string]Result{}
	for r := range s.Results() {
		got[r.RequestID] = r
	}
	if got["busy"].Err != nil || got["busy"].Response == nil {
		t.Fatalf("busy: %+v", got["busy"])
	}
	var e *Error
	if !errors.As(got["huge"].Err, &e) || e.Reason != "PAYLOAD_TOO_LARGE" || e.Retryable {
		t.Fatalf("huge: %+v", got["huge"])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	count := map[string]int{}
	for _, id := range f.streamIDs {
		count[id]++
	}
	if count["busy"] != 2 || count["huge"] != 1 {
		t.Fatalf("sent: %v", count)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Score(ctx, fakePNG("SLOW", false), Inline("x", shots...)); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c2 := connectFake(t, addr, "secret", WithTimeout(100*time.Millisecond)) // default deadline applies too
	if _, err := c2.Score(context.Background(), fakePNG("SLOW", false), Inline("x", shots...)); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("default timeout: %v", err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	c := connectFake(t, freePort(t), "k")
	if _, err := c.ModelInfo(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("WaitReady: %v", err)
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	ps, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "line-1", Category: "transistor", Shots: shots})
	if err != nil || ps.ShotCount != 2 {
		t.Fatalf("register: %v %v", ps, err)
	}
	if _, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "line-1", Shots: shots}); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("dup: %v", err)
	}
	if r, err := c.Score(ctx, fakePNG("q", false), PromptSet(ps.Id)); err != nil || r.BundleId != "fake" {
		t.Fatalf("score by set: %v", err)
	}
	for i := 0; i < 4; i++ {
		if _, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: fmt.Sprint("more", i), Shots: shots}); err != nil {
			t.Fatal(err)
		}
	}
	if all, err := c.ListPromptSets(ctx, 2); err != nil || len(all) != 5 {
		t.Fatalf("list: %d %v", len(all), err)
	}
	if err := c.DeletePromptSet(ctx, ps.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPromptSet(ctx, ps.Id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := c.Score(ctx, fakePNG("q", false), PromptSet(ps.Id)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("score deleted: %v", err)
	}
}

// ---- streaming -------------------------------------------------------------------------------------------------

func collect(s *Stream) []Result {
	var out []Result
	for r := range s.Results() {
		out = append(out, r)
	}
	return out
}

func TestStream50IDsAnsweredOnceWithBackpressure(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	s, err := c.OpenStream(context.Background(), StreamOptions{Window: 4, Defaults: Inline("x", shots...), OmitMap: true})
	if err != nil {
		t.Fatal(err)
	}
	var results []Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); results = collect(s) }()
	for i := 0; i < 50; i++ {
		if _, err := s.Send(context.Background(), fmt.Sprint("img-", i), fakePNG(fmt.Sprint(i), i%2 == 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	seen := map[string]int{}
	var order []string
	for _, r := range results {
		seen[r.RequestID]++
		order = append(order, r.RequestID)
		if r.Err != nil || r.Response.RequestId != r.RequestID {
			t.Fatalf("%s: %v", r.RequestID, r.Err)
		}
		var n int
		fmt.Sscanf(r.RequestID, "img-%d", &n)
		if (r.Response.Score > 0.7) != (n%2 == 1) {
			t.Errorf("%s scored %v", r.RequestID, r.Response.Score)
		}
	}
	for i := 0; i < 50; i++ {
		if seen[fmt.Sprint("img-", i)] != 1 {
			t.Fatalf("img-%d answered %d times", i, seen[fmt.Sprint("img-", i)])
		}
	}
	if len(results) != 50 {
		t.Fatalf("%d results", len(results))
	}
	if order[0] == "img-0" && order[1] == "img-1" && order[2] == "img-2" {
		t.Log("note: answers happened to arrive in request order")
	}
	if f.maxInFlight > 4 {
		t.Fatalf("server saw %d in flight, window is 4", f.maxInFlight)
	}
	if len(s.Unmatched()) != 0 {
		t.Fatal("unmatched responses")
	}
}

func TestStreamPerRequestErrorKeepsStream(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ps, _ := c.RegisterPromptSet(context.Background(), &pb.CreatePromptSetRequest{Name: "s", Shots: shots})
	s, err := c.OpenStream(context.Background(), StreamOptions{Window: 8, Defaults: Inline("x", shots...)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = s.Send(ctx, "g1", fakePNG("1", false))
	_, _ = s.Send(ctx, "bad", []byte("garbage"))
	req, _ := PromptSet("missing").Request("nf", fakePNG("2", false), true)
	_, _ = s.SendRequest(ctx, req)
	req, _ = PromptSet(ps.Id).Request("", fakePNG("3", false), true)
	genID, _ := s.SendRequest(ctx, req)
	if _, err := s.Send(ctx, "g1", fakePNG("dup", false)); err == nil {
		t.Log("g1 may already be answered; duplicate check is covered below")
	}
	_ = s.CloseSend()
	got := map[string]Result{}
	for _, r := range collect(s) {
		got[r.RequestID] = r
	}
	if !errors.Is(got["bad"].Err, ErrInvalidArgument) || !errors.Is(got["nf"].Err, ErrNotFound) {
		t.Fatalf("per-request errors: %v / %v", got["bad"].Err, got["nf"].Err)
	}
	var ie *Error
	if !errors.As(got["bad"].Err, &ie) || ie.RequestID != "bad" {
		t.Fatal("error must carry the request id")
	}
	if got["g1"].Err != nil || genID == "" || got[genID].Err != nil {
		t.Fatalf("good requests: %v %v", got["g1"].Err, got[genID].Err)
	}
}

func TestStreamRejectsDuplicateInFlightID(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	s, _ := c.OpenStream(context.Background(), StreamOptions{Window: 4, Defaults: Inline("x", shots...)})
	go collect(s)
	if _, err := s.Send(context.Background(), "dup", fakePNG("SLOW", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), "dup", fakePNG("x", false)); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Fatalf("got %v", err)
	}
	s.Cancel()
}

func TestStreamWindowFullHonoursContext(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	s, _ := c.OpenStream(context.Background(), StreamOptions{Window: 1, Defaults: Inline("x", shots...)})
	go collect(s)
	_, _ = s.Send(context.Background(), "a", fakePNG("SLOW", false))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Send(ctx, "b", fakePNG("b", false)); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	s.Cancel()
}

func TestStreamBadKeyFailsWithUnauthenticated(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "wrong")
	s, err := c.OpenStream(context.Background(), StreamOptions{Window: 4, Defaults: Inline("x", shots...)})
	if err != nil {
		t.Fatal(err)
	}
	_, sendErr := s.Send(context.Background(), "a", fakePNG("a", false))
	results := collect(s)
	// the server may reject before or after the first Send: either way the error is Unauthenticated
	if sendErr != nil {
		if !errors.Is(sendErr, ErrUnauthenticated) {
			t.Fatalf("send: %v", sendErr)
		}
	} else if len(results) != 1 || !errors.Is(results[0].Err, ErrUnauthenticated) {
		t.Fatalf("results: %+v", results)
	}
	if !errors.Is(s.Err(), ErrUnauthenticated) {
		t.Fatalf("stream err %v", s.Err())
	}
}

func TestStreamDeadlineFailsInFlight(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s, _ := c.OpenStream(ctx, StreamOptions{Window: 4, Defaults: Inline("x", shots...)})
	_, _ = s.Send(context.Background(), "slow", fakePNG("SLOW", false))
	results := collect(s)
	if len(results) != 1 || results[0].RequestID != "slow" || !errors.Is(results[0].Err, ErrDeadlineExceeded) {
		t.Fatalf("%+v", results)
	}
}

func TestWritesAndOtherCodesAreNotRetried(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	if _, err := c.Score(context.Background(), []byte("junk"), Inline("x", shots...)); !errors.Is(err, ErrInvalidArgument) || f.calls != 1 {
		t.Fatalf("invalid argument: err=%v calls=%d", err, f.calls)
	}
	f.mu.Lock()
	f.unavailableFirst, f.calls = 1, 0
	f.mu.Unlock()
	_, err := c.RegisterPromptSet(context.Background(), &pb.CreatePromptSetRequest{Name: "s", Category: "x", Shots: shots})
	if !errors.Is(err, ErrUnavailable) || f.calls != 1 {
		t.Fatalf("write: err=%v calls=%d", err, f.calls)
	}
}

package inctrl

import (
	"encoding/json"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy is gRPC's retry policy for calls that fail with UNAVAILABLE: gRPC itself retries the idempotent
// calls (Score, GetModelInfo, ListModels, GetPromptSet, ListPromptSets, ListRevisions), on another backend when there are several, with
// exponential backoff randomised in [0, backoff]; gRPC caps MaxAttempts at 5. The client also resends those calls,
// up to MaxAttempts, when the server refused them with a retry hint (google.rpc.RetryInfo: QUEUE_FULL,
// RATE_LIMITED, ...), after that hint; a refusal without one is never retried. Streams resend their unanswered
// requests with the same shape, and a request answered with an Error that has retry_after after that delay (see
// Stream).
type RetryPolicy struct {
	MaxAttempts    int           // total attempts including the first; 1 disables retries
	InitialBackoff time.Duration // delay bound before the first retry
	MaxBackoff     time.Duration
	Multiplier     float64
}

// DefaultRetryPolicy: 4 attempts, backoff bounds 100ms, 200ms, 400ms.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, Multiplier: 2}
}

// NoRetry makes every call a single attempt.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// retriedMethods are idempotent. Writes (CreatePromptSet, DeletePromptSet, SetThreshold, ReencodePromptSet,
// AddShots, RemoveShots, RollbackPromptSet) are only retried by gRPC's transparent retry (never reached a server).
var retriedMethods = [][2]string{
	{"inctrl.v1.Scorer", "Score"},
	{"inctrl.v1.Scorer", "GetModelInfo"},
	{"inctrl.v1.Scorer", "ListModels"},
	{"inctrl.v1.PromptRegistry", "GetPromptSet"},
	{"inctrl.v1.PromptRegistry", "ListPromptSets"},
	{"inctrl.v1.PromptRegistry", "ListRevisions"},
}

// retryBufferBytes: inline shots make requests large, and gRPC can only retry a call whose request it still holds.
const retryBufferBytes = 16 << 20

// Backoff is the upper bound of the delay before retry number n (1-based).
func (p RetryPolicy) Backoff(n int) time.Duration {
	d := float64(p.InitialBackoff)
	for i := 1; i < n && (p.MaxBackoff <= 0 || d < float64(p.MaxBackoff)); i++ {
		d *= p.Multiplier
	}
	if p.MaxBackoff > 0 && d > float64(p.MaxBackoff) {
		d = float64(p.MaxBackoff)
	}
	return time.Duration(d)
}

// hintedDelay is how long to wait before attempt+1 of an idempotent call that failed with err, and whether to retry
// at all: only a refusal carrying the server's retry hint (google.rpc.RetryInfo, present exactly for retryable
// reasons such as QUEUE_FULL and RATE_LIMITED) is, after that hint, within MaxAttempts and the time left before
// the deadline (hasDeadline). UNAVAILABLE is left to gRPC's own retry policy (it honours the server's pushback), so
// attempts do not multiply.
func (p RetryPolicy) hintedDelay(err *Error, attempt int, left time.Duration, hasDeadline bool) (time.Duration, bool) {
	if attempt >= p.MaxAttempts || !err.Retryable || err.Code == codes.Unavailable {
		return 0, false
	}
	if hasDeadline && left <= err.RetryAfter {
		return 0, false // the answer would come after the caller's deadline: report the refusal now
	}
	return err.RetryAfter, true
}

// jittered is a delay in [0, Backoff(n)), as gRPC's own retries wait.
func (p RetryPolicy) jittered(n int) time.Duration {
	return time.Duration(rand.Float64() * float64(p.Backoff(n)))
}

func seconds(d time.Duration) string { return jsonNumber(d.Seconds()) + "s" }

func jsonNumber(f float64) string { b, _ := json.Marshal(f); return string(b) }

// ServiceConfig is the gRPC service config the client dials with: round_robin over every resolved backend and
// p as the retry policy of the idempotent calls.
func ServiceConfig(p RetryPolicy) string {
	type name struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	}
	type retryPolicy struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	type methodConfig struct {
		Name        []name      `json:"name"`
		RetryPolicy retryPolicy `json:"retryPolicy"`
	}
	cfg := struct {
		LoadBalancingConfig []map[string]struct{} `json:"loadBalancingConfig"`
		MethodConfig        []methodConfig        `json:"methodConfig,omitempty"`
	}{LoadBalancingConfig: []map[string]struct{}{{"round_robin": {}}}}
	if p.MaxAttempts > 1 {
		mc := methodConfig{RetryPolicy: retryPolicy{MaxAttempts: min(p.MaxAttempts, 5),
			InitialBackoff: seconds(p.InitialBackoff), MaxBackoff: seconds(p.MaxBackoff),
			BackoffMultiplier: p.Multiplier, RetryableStatusCodes: []string{"UNAVAILABLE"}}}
		for _, m := range retriedMethods {
			mc.Name = append(mc.Name, name{Service: m[0], Method: m[1]})
		}
		cfg.MethodConfig = []methodConfig{mc}
	}
	b, _ := json.Marshal(cfg)
	return string(b)
}

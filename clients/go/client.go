// Package inctrl is a thin Go client for InCTRL serve (gRPC few-shot anomaly detection).
//
//	c, err := inctrl.Connect("10.0.0.5:9000,10.0.0.6:9000", inctrl.WithAPIKey(key))
//	res, err := c.Score(ctx, img, inctrl.Inline("transistor", shot1, shot2))
//	if errors.Is(err, inctrl.ErrInvalidArgument) { ... }
package inctrl

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

// Inline shots travel with every request; allow messages well above gRPC's 4 MiB default.
const maxMessage = 64 << 20

type config struct {
	apiKey      string
	tls         *tls.Config
	useTLS      bool
	retry       RetryPolicy
	timeout     time.Duration
	dialOptions []grpc.DialOption
}

// Option configures Connect.
type Option func(*config)

// WithAPIKey sends the key as `x-api-key` metadata on every call.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithTLS switches from plaintext h2c (the default) to TLS; nil uses the system roots.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.useTLS, c.tls = true, cfg }
}

// WithRetry sets gRPC's retry policy for UNAVAILABLE (idempotent calls) and the stream resend budget.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithTimeout is the deadline applied to unary calls whose context has none (default 30s; 0 = none).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithDialOptions passes extra grpc.DialOptions through.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// Client is safe for concurrent use.
type Client struct {
	conn     *grpc.ClientConn
	scorer   pb.ScorerClient
	registry pb.PromptRegistryClient
	cfg      config
}

// Connect creates a client; connections are made lazily (see WaitReady). address is host:port, a DNS name
// with several addresses, or a comma-separated list of host:port: gRPC balances calls round-robin over the
// backends and retries idempotent calls that fail with UNAVAILABLE on another one.
func Connect(address string, opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy(), timeout: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	creds := insecure.NewCredentials()
	if cfg.useTLS {
		t := cfg.tls
		if t == nil {
			t = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(t)
	}
	tgt, res, err := target(address)
	if err != nil {
		return nil, err
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage),
			grpc.MaxRetryRPCBufferSize(retryBufferBytes)),
		grpc.WithDefaultServiceConfig(ServiceConfig(cfg.retry)),
		// pings notice a backend that vanished without closing its connections (the server permits 20s)
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second,
			PermitWithoutStream: false}), // idle connections are not pinged (a server counts those as abuse)
	}
	if res != nil {
		dial = append(dial, grpc.WithResolvers(res))
	}
	if cfg.apiKey != "" {
		key := cfg.apiKey
		dial = append(dial,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
				cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
				return invoker(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), method, req, reply, cc, o...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
				method string, streamer grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
				return streamer(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), desc, cc, method, o...)
			}))
	}
	conn, err := grpc.NewClient(tgt, append(dial, cfg.dialOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, scorer: pb.NewScorerClient(conn), registry: pb.NewPromptRegistryClient(conn), cfg: cfg}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WaitReady blocks until the connection is up; an unreachable server gives ErrUnavailable when ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	c.conn.Connect()
	for {
		s := c.conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !c.conn.WaitForStateChange(ctx, s) {
			return &Error{Code: ErrUnavailable.Code, Message: "cannot reach " + c.conn.Target() + ": " + s.String()}
		}
	}
}

// Prompts selects what a query is compared against: inline shots or a registered prompt set, and optionally the
// model version that compares (WithModel).
type Prompts struct {
	Shots       [][]byte
	Category    string
	PromptSetID string
	// Model to score with; "" = the server's default model (for a prompt set: the set's own).
	Model string
	// ModelVersion of that model; 0 = the version its roll-out routes to.
	ModelVersion int64
}

// Inline prompts: K >= 1 normal images plus the product category.
func Inline(category string, shots ...[]byte) Prompts {
	return Prompts{Shots: shots, Category: category}
}

// PromptSet refers to a prompt set registered with RegisterPromptSet.
func PromptSet(id string) Prompts { return Prompts{PromptSetID: id} }

// WithModel returns p scored by the given model version (name "" = the default model, version 0 = the routed one).
// The response's Model and ModelVersion name the version that answered.
func (p Prompts) WithModel(name string, version int64) Prompts {
	p.Model, p.ModelVersion = name, version
	return p
}

func (p Prompts) isZero() bool { return len(p.Shots) == 0 && p.PromptSetID == "" }

// Request builds a ScoreRequest.
func (p Prompts) Request(requestID string, image []byte, omitMap bool) (*pb.ScoreRequest, error) {
	req := &pb.ScoreRequest{RequestId: requestID, Image: image, OmitMap: omitMap, Model: p.Model,
		ModelVersion: p.ModelVersion}
	switch {
	case p.PromptSetID != "" && len(p.Shots) > 0:
		return nil, errors.New("inctrl: use either a prompt set id or inline shots, not both")
	case p.PromptSetID != "":
		req.Prompts = &pb.ScoreRequest_PromptSetId{PromptSetId: p.PromptSetID}
	case len(p.Shots) > 0:
		req.Prompts = &pb.ScoreRequest_Inline{Inline: &pb.InlinePrompts{Shots: p.Shots, Category: p.Category}}
	default:
		return nil, errors.New("inctrl: scoring needs prompts: inline shots or a prompt set id")
	}
	return req, nil
}

func (c *Client) unary(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok && c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	return FromError(fn(ctx)) // retries: the channel's service config
}

// idempotent is unary for calls that may be repeated: also resent after the server's retry hint (RetryPolicy).
func (c *Client) idempotent(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok && c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		err := FromError(fn(ctx))
		if err == nil {
			return nil
		}
		deadline, hasDeadline := ctx.Deadline()
		wait, again := c.cfg.retry.hintedDelay(err.(*Error), attempt, time.Until(deadline), hasDeadline)
		if !again {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// Score scores one image. Errors are *Error (match with errors.Is(err, ErrInvalidArgument), ...). Scored against a
// prompt set, the response's QueryId can confirm the query as a normal shot (AddShots) while the replica keeps it.
func (c *Client) Score(ctx context.Context, image []byte, prompts Prompts) (*pb.ScoreResponse, error) {
	req, err := prompts.Request("", image, false)
	if err != nil {
		return nil, err
	}
	return c.ScoreRequest(ctx, req)
}

// ScoreRequest sends a fully built request.
func (c *Client) ScoreRequest(ctx context.Context, req *pb.ScoreRequest) (res *pb.ScoreResponse, err error) {
	err = c.idempotent(ctx, func(ctx context.Context) (e error) { res, e = c.scorer.Score(ctx, req); return })
	return res, err
}

// ModelInfo describes the default model's serving version.
func (c *Client) ModelInfo(ctx context.Context) (*pb.ModelInfo, error) {
	return c.GetModelInfo(ctx, "", 0)
}

// GetModelInfo describes one loaded model version (model "" = the default model, version 0 = its serving version).
// One the server does not serve is ErrNotFound with Reason MODEL_NOT_FOUND or MODEL_VERSION_NOT_LOADED.
func (c *Client) GetModelInfo(ctx context.Context, model string, version int64) (res *pb.ModelInfo, err error) {
	err = c.idempotent(ctx, func(ctx context.Context) (e error) {
		res, e = c.scorer.GetModelInfo(ctx, &pb.ModelInfoRequest{Model: model, ModelVersion: version})
		return
	})
	return res, err
}

// ListModels lists the models the server serves (each with its loaded versions and serving, canary and shadow
// version) and the default model.
func (c *Client) ListModels(ctx context.Context) (res *pb.ListModelsResponse, err error) {
	err = c.idempotent(ctx, func(ctx context.Context) (e error) {
		res, e = c.scorer.ListModels(ctx, &pb.ListModelsRequest{})
		return
	})
	return res, err
}

// RegisterPromptSet stores name/category/shots server-side; score against it with PromptSet(ps.Id). req.Model names
// the model the set belongs to ("" = the server's default).
func (c *Client) RegisterPromptSet(ctx context.Context, req *pb.CreatePromptSetRequest) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) { res, e = c.registry.CreatePromptSet(ctx, req); return })
	return res, err
}

// GetPromptSet fetches one prompt set.
func (c *Client) GetPromptSet(ctx context.Context, id string) (res *pb.PromptSet, err error) {
	err = c.idempotent(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.GetPromptSet(ctx, &pb.GetPromptSetRequest{Id: id})
		return
	})
	return res, err
}

// ListPromptSets returns every prompt set of the tenant, following page tokens.
func (c *Client) ListPromptSets(ctx context.Context, pageSize int32) ([]*pb.PromptSet, error) {
	var all []*pb.PromptSet
	token := ""
	for {
		var page *pb.ListPromptSetsResponse
		err := c.idempotent(ctx, func(ctx context.Context) (e error) {
			page, e = c.registry.ListPromptSets(ctx, &pb.ListPromptSetsRequest{PageSize: pageSize, PageToken: token})
			return
		})
		if err != nil {
			return all, err
		}
		all = append(all, page.PromptSets...)
		if token = page.NextPageToken; token == "" {
			return all, nil
		}
	}
}

// DeletePromptSet removes a prompt set.
func (c *Client) DeletePromptSet(ctx context.Context, id string) error {
	return c.unary(ctx, func(ctx context.Context) error {
		_, e := c.registry.DeletePromptSet(ctx, &pb.DeletePromptSetRequest{Id: id})
		return e
	})
}

// SetThreshold overrides the decision threshold of one model version's encoding (req.ModelVersion 0 = the serving
// version of the set's model), or clears the override when req.Threshold is nil; req.TargetFpr also changes the
// set's target false-positive rate. Example: &pb.SetThresholdRequest{Id: id, Threshold: proto.Float32(0.6)}.
func (c *Client) SetThreshold(ctx context.Context, req *pb.SetThresholdRequest) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) { res, e = c.registry.SetThreshold(ctx, req); return })
	return res, err
}

// ReencodePromptSet re-encodes the set's stored shots with one loaded version (0 = the serving version of its model).
func (c *Client) ReencodePromptSet(ctx context.Context, id string, modelVersion int64) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.ReencodePromptSet(ctx, &pb.ReencodePromptSetRequest{Id: id, ModelVersion: modelVersion})
		return
	})
	return res, err
}

// The calls below make a new revision of a set's shots. They are writes: never resent after a retry hint (a resend
// of an AddShots that had arrived would add the shots twice); ErrAborted with Reason CONCURRENT_CHANGE means the
// set's shots changed meanwhile: read the set again and decide again.

// AddShots adds normal shots to a set as a new revision of its shots (the old one stays for RollbackPromptSet):
// uploaded images and/or queries scored against the set, confirmed as normal by their ScoreResponse.QueryId (no
// second upload). A query the answering replica no longer keeps (or never scored: with several replicas, the call
// may reach another one) is ErrNotFound with Reason QUERY_NOT_RETAINED: upload the image instead.
func (c *Client) AddShots(ctx context.Context, id string, shots [][]byte, queryIDs []string) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.AddShots(ctx, &pb.AddShotsRequest{Id: id, Shots: shots, QueryIds: queryIDs})
		return
	})
	return res, err
}

// RemoveShots removes shots by 0-based position in the current revision (as in Calibration.ShotScores): a new
// revision. At least one shot stays.
func (c *Client) RemoveShots(ctx context.Context, id string, positions ...int32) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.RemoveShots(ctx, &pb.RemoveShotsRequest{Id: id, Shots: positions})
		return
	})
	return res, err
}

// ListRevisions returns the revisions of a set's shots, oldest first, and the current one. A read: resent like
// GetPromptSet.
func (c *Client) ListRevisions(ctx context.Context, id string) (res *pb.ListRevisionsResponse, err error) {
	err = c.idempotent(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.ListRevisions(ctx, &pb.ListRevisionsRequest{Id: id})
		return
	})
	return res, err
}

// RollbackPromptSet points the set at another revision of its shots; its stored encodings serve it again, bit for bit.
func (c *Client) RollbackPromptSet(ctx context.Context, id string, revision int64) (res *pb.PromptSet, err error) {
	err = c.unary(ctx, func(ctx context.Context) (e error) {
		res, e = c.registry.RollbackPromptSet(ctx, &pb.RollbackPromptSetRequest{Id: id, Revision: revision})
		return
	})
	return res, err
}

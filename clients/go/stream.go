package inctrl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

// Result is the outcome of one stream request; exactly one Result is delivered per sent request id.
type Result struct {
	RequestID string
	Response  *pb.ScoreResponse // nil when Err is set
	Err       error             // *Error: the request's own error, or the stream's when it broke
	Latency   time.Duration     // send -> response
}

// Stream is one logical ScoreStream with a bounded in-flight window and correlation by request id, carried by
// one gRPC call at a time. Send blocks while Window requests are unanswered. Drain Results until it is closed.
//
// When the call fails with UNAVAILABLE (its backend stopped or went away), or is cancelled by the other side (a
// backend shutting down resets its streams), the requests still unanswered are
// resent, in send order, on a new call, which the client's round_robin places on a backend that is up; at most
// Resend.MaxAttempts-1 times in a row without an answer in between. A request whose answer arrived is never
// resent, and every id gets exactly one Result. A failure carrying the server's retry hint (google.rpc.RetryInfo) is
// resent the same way, after that hint.
//
// A request answered with an Error that has retry_after (QUEUE_FULL, RATE_LIMITED, ...) is resent after that delay,
// at most Resend.MaxAttempts-1 times; one without it gets its Result at once. So that a resend always has a call to
// go on, CloseSend half-closes the call only once every request is settled.
type Stream struct {
	Window   int
	defaults Prompts
	omitMap  bool

	client  *Client
	ctx     context.Context // bounds the whole logical stream
	cancel  context.CancelFunc
	resend  RetryPolicy
	slots   chan struct{}
	results chan Result
	done    chan struct{}

	sendMu         sync.Mutex // guards st, callCancel, halfClosed, callHalfClosed, restarts and every Send
	st             pb.Scorer_ScoreStreamClient
	callCancel     context.CancelFunc
	halfClosed     bool // the caller is done sending
	callHalfClosed bool // the current call was half-closed (every request settled)
	restarts       int

	mu        sync.Mutex
	pending   map[string]*pendingRequest
	seq       uint64
	err       error
	unmatched []*pb.ScoreResponse
	nextID    int
}

type pendingRequest struct {
	req    *pb.ScoreRequest // kept for a resend
	sent   time.Time
	seq    uint64
	resent int // resends after an answer with retry_after
}

// StreamOptions for OpenStream.
type StreamOptions struct {
	Window   int     // max unanswered requests (default 16)
	Defaults Prompts // prompts for Send; SendRequest can override per request
	OmitMap  bool
	// Resend bounds the resends of unanswered requests after UNAVAILABLE (zero value: the client's retry
	// policy; NoRetry: a broken stream fails its in-flight requests).
	Resend RetryPolicy
}

// OpenStream starts a ScoreStream. ctx bounds the whole stream (its deadline is the stream's deadline).
func (c *Client) OpenStream(ctx context.Context, opts StreamOptions) (*Stream, error) {
	if opts.Window <= 0 {
		opts.Window = 16
	}
	if opts.Resend.MaxAttempts == 0 {
		opts.Resend = c.cfg.retry
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		Window: opts.Window, defaults: opts.Defaults, omitMap: opts.OmitMap, client: c, ctx: ctx, cancel: cancel,
		resend: opts.Resend, slots: make(chan struct{}, opts.Window), results: make(chan Result, opts.Window),
		done: make(chan struct{}), pending: map[string]*pendingRequest{},
	}
	var err error
	if s.st, s.callCancel, err = s.newCall(); err != nil {
		cancel()
		return nil, FromError(err)
	}
	go s.recv()
	return s, nil
}

func (s *Stream) newCall() (pb.Scorer_ScoreStreamClient, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	st, err := s.client.scorer.ScoreStream(ctx)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return st, cancel, nil
}

// Send queues one image with the stream's default prompts; an empty id gets a generated one, returned.
func (s *Stream) Send(ctx context.Context, requestID string, image []byte) (string, error) {
	if s.defaults.isZero() {
		return "", errors.New("inctrl: stream has no default prompts; use SendRequest")
	}
	req, err := s.defaults.Request(requestID, image, s.omitMap)
	if err != nil {
		return "", err
	}
	return s.SendRequest(ctx, req)
}

// SendRequest queues a fully built request, blocking while the window is full.
func (s *Stream) SendRequest(ctx context.Context, req *pb.ScoreRequest) (string, error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return "", s.err
	}
	if req.RequestId == "" {
		s.nextID++
		req.RequestId = "r" + strconv.Itoa(s.nextID)
	}
	id := req.RequestId
	if _, dup := s.pending[id]; dup {
		s.mu.Unlock()
		return "", fmt.Errorf("inctrl: request_id %q is already in flight", id)
	}
	s.mu.Unlock()

	select { // backpressure: wait for a free slot
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return "", FromError(ctx.Err())
	case <-s.done:
		return "", s.terminal()
	}
	// registered and sent under sendMu: a restart either finds it pending (and resends it) or comes after Send
	s.sendMu.Lock()
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		s.sendMu.Unlock()
		<-s.slots
		return "", s.err
	}
	if _, dup := s.pending[id]; dup {
		s.mu.Unlock()
		s.sendMu.Unlock()
		<-s.slots
		return "", fmt.Errorf("inctrl: request_id %q is already in flight", id)
	}
	s.seq++
	s.pending[id] = &pendingRequest{req: req, sent: time.Now(), seq: s.seq} // before Send: the answer may beat it
	s.mu.Unlock()
	err := s.st.Send(req)
	s.sendMu.Unlock()
	if err != nil {
		if s.resend.MaxAttempts > 1 { // the reader resends it on the next call, or fails it with a Result
			return id, nil
		}
		s.mu.Lock()
		_, still := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if still {
			<-s.slots
		}
		if errors.Is(err, io.EOF) { // the real status comes from Recv
			<-s.done
			return "", s.terminal()
		}
		return "", FromError(err)
	}
	return id, nil
}

func (s *Stream) recv() {
	var failure error
	attempt := 0
	for {
		resp, err := s.st.Recv() // st is only replaced by this goroutine (restart)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if failure = s.recover(FromError(err), &attempt); failure == nil {
				continue
			}
			break
		}
		attempt = 0 // progress: the next failure starts a fresh resend budget
		var itemErr *Error
		if resp.Error != nil {
			itemErr = FromStreamError(resp.Error, resp.RequestId)
		}
		s.mu.Lock()
		p, ok := s.pending[resp.RequestId]
		if ok && itemErr != nil && itemErr.Retryable && s.ctx.Err() == nil && p.resent+1 < s.resend.MaxAttempts {
			p.resent++ // the server said waiting helps: resend after its hint, on whichever call is current then
			s.mu.Unlock()
			id := resp.RequestId
			time.AfterFunc(itemErr.RetryAfter, func() { s.resendOne(id) })
			continue
		}
		delete(s.pending, resp.RequestId)
		if !ok {
			s.unmatched = append(s.unmatched, resp)
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		<-s.slots
		r := Result{RequestID: resp.RequestId, Latency: time.Since(p.sent)}
		if itemErr != nil {
			r.Err = itemErr
		} else {
			r.Response = resp
		}
		s.results <- r
		s.halfCloseWhenSettled()
	}
	s.mu.Lock()
	left := s.pending
	s.pending = map[string]*pendingRequest{}
	if failure == nil && len(left) > 0 {
		failure = &Error{Code: codes.Internal, Message: fmt.Sprintf("stream ended with %d request(s) unanswered", len(left))}
	}
	if failure == nil {
		failure = errStreamClosed
	}
	s.err = failure
	s.mu.Unlock()
	for id, p := range left {
		e := *FromError(failure).(*Error) // a copy: reason and retry hint kept
		e.RequestID = id
		s.results <- Result{RequestID: id, Err: &e, Latency: time.Since(p.sent)}
	}
	close(s.done)
	close(s.results)
	s.cancel()
}

// recover replaces a call that failed with UNAVAILABLE while the resend budget lasts; nil when it did.
func (s *Stream) recover(failure error, attempt *int) error {
	// UNAVAILABLE, or a cancellation this client did not ask for (a replica shutting down resets its streams), or
	// any failure with the server's retry hint (e.g. RATE_LIMITED when the call opened)
	for resendable(failure) && s.ctx.Err() == nil && *attempt+1 < s.resend.MaxAttempts {
		*attempt++
		wait := s.resend.jittered(*attempt)
		var e *Error
		if errors.As(failure, &e) && e.Retryable && e.RetryAfter > wait {
			wait = e.RetryAfter // never sooner than the server asked
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return failure
		}
		err := s.restart()
		if err == nil {
			return nil
		}
		failure = FromError(err)
	}
	return failure
}

func resendable(failure error) bool {
	var e *Error
	return errors.Is(failure, ErrUnavailable) || errors.Is(failure, ErrCancelled) ||
		(errors.As(failure, &e) && e.Retryable)
}

// resendOne sends one pending request again on the current call (a restart meanwhile resends it anyway).
func (s *Stream) resendOne(id string) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	p, ok := s.pending[id]
	s.mu.Unlock()
	if ok && !s.callHalfClosed && s.ctx.Err() == nil {
		_ = s.st.Send(p.req) // a failed call reports itself through Recv
	}
}

// halfCloseWhenSettled half-closes the current call once the caller is done sending and every request is settled.
func (s *Stream) halfCloseWhenSettled() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	settled := len(s.pending) == 0
	s.mu.Unlock()
	if s.halfClosed && !s.callHalfClosed && settled {
		s.callHalfClosed = true
		_ = s.st.CloseSend()
	}
}

// restart opens a new call and resends every unanswered request on it, in send order.
func (s *Stream) restart() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.callCancel()
	st, cancel, err := s.newCall()
	if err != nil {
		return err
	}
	s.st, s.callCancel = st, cancel
	s.restarts++
	s.mu.Lock()
	again := make([]*pendingRequest, 0, len(s.pending))
	for _, p := range s.pending {
		again = append(again, p)
	}
	s.mu.Unlock()
	sort.Slice(again, func(i, j int) bool { return again[i].seq < again[j].seq })
	for _, p := range again {
		if st.Send(p.req) != nil {
			break // the call failed already; its Recv reports why
		}
	}
	s.callHalfClosed = false
	if s.halfClosed && len(again) == 0 {
		s.callHalfClosed = true
		_ = st.CloseSend()
	}
	return nil
}

// Restarts is how many times the stream moved to a new call after UNAVAILABLE.
func (s *Stream) Restarts() int {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.restarts
}

var errStreamClosed = errors.New("inctrl: stream is closed")

// Results delivers one Result per sent request, in completion order; closed when the stream ends.
func (s *Stream) Results() <-chan Result { return s.results }

// CloseSend half-closes: no more requests; Results closes once the server has answered everything. The call itself
// is half-closed once every request is settled (a request may still be resent on it).
func (s *Stream) CloseSend() error {
	s.sendMu.Lock()
	s.halfClosed = true
	s.sendMu.Unlock()
	s.halfCloseWhenSettled()
	return nil
}

// Cancel aborts the stream; in-flight requests get ErrCancelled results.
func (s *Stream) Cancel() { s.cancel() }

// Done is closed when the stream has ended and all Results were delivered.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is the stream's terminal error: nil while running or after a clean end.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.err, errStreamClosed) {
		return nil
	}
	return s.err
}

func (s *Stream) terminal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Unmatched returns responses whose request_id was never sent (or was answered twice).
func (s *Stream) Unmatched() []*pb.ScoreResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*pb.ScoreResponse(nil), s.unmatched...)
}

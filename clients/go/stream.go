package inctrl

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Stream is one ScoreStream call with a bounded in-flight window and correlation by request id.
// Send blocks while Window requests are unanswered. Drain Results until it is closed.
type Stream struct {
	Window   int
	defaults Prompts
	omitMap  bool

	st      pb.Scorer_ScoreStreamClient
	cancel  context.CancelFunc
	slots   chan struct{}
	results chan Result
	done    chan struct{}

	sendMu    sync.Mutex
	mu        sync.Mutex
	pending   map[string]time.Time
	err       error
	unmatched []*pb.ScoreResponse
	nextID    int
}

// StreamOptions for OpenStream.
type StreamOptions struct {
	Window   int     // max unanswered requests (default 16)
	Defaults Prompts // prompts for Send; SendRequest can override per request
	OmitMap  bool
}

// OpenStream starts a ScoreStream. ctx bounds the whole stream (its deadline is the stream's deadline).
// Streams are not retried: when one breaks, every in-flight request gets a Result with the mapped error.
func (c *Client) OpenStream(ctx context.Context, opts StreamOptions) (*Stream, error) {
	if opts.Window <= 0 {
		opts.Window = 16
	}
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.scorer.ScoreStream(ctx)
	if err != nil {
		cancel()
		return nil, FromError(err)
	}
	s := &Stream{
		Window: opts.Window, defaults: opts.Defaults, omitMap: opts.OmitMap, st: st, cancel: cancel,
		slots: make(chan struct{}, opts.Window), results: make(chan Result, opts.Window),
		done: make(chan struct{}), pending: map[string]time.Time{},
	}
	go s.recv()
	return s, nil
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
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		<-s.slots
		return "", s.err
	}
	if _, dup := s.pending[id]; dup {
		s.mu.Unlock()
		<-s.slots
		return "", fmt.Errorf("inctrl: request_id %q is already in flight", id)
	}
	s.pending[id] = time.Now() // registered before sending: the answer may beat Send's return
	s.mu.Unlock()

	s.sendMu.Lock() // grpc-go streams allow one concurrent sender
	err := s.st.Send(req)
	s.sendMu.Unlock()
	if err != nil {
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
	for {
		resp, err := s.st.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				failure = FromError(err)
			}
			break
		}
		s.mu.Lock()
		sent, ok := s.pending[resp.RequestId]
		delete(s.pending, resp.RequestId)
		if !ok {
			s.unmatched = append(s.unmatched, resp)
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		<-s.slots
		r := Result{RequestID: resp.RequestId, Latency: time.Since(sent)}
		if resp.Error != nil {
			r.Err = FromCodeName(resp.Error.Code, resp.Error.Message, resp.RequestId)
		} else {
			r.Response = resp
		}
		s.results <- r
	}
	s.mu.Lock()
	left := s.pending
	s.pending = map[string]time.Time{}
	if failure == nil && len(left) > 0 {
		failure = &Error{Code: codes.Internal, Message: fmt.Sprintf("stream ended with %d request(s) unanswered", len(left))}
	}
	if failure == nil {
		failure = errStreamClosed
	}
	s.err = failure
	s.mu.Unlock()
	for id, sent := range left {
		e := *FromError(failure).(*Error)
		e.RequestID = id
		s.results <- Result{RequestID: id, Err: &e, Latency: time.Since(sent)}
	}
	close(s.done)
	close(s.results)
	s.cancel()
}

var errStreamClosed = errors.New("inctrl: stream is closed")

// Results delivers one Result per sent request, in completion order; closed when the stream ends.
func (s *Stream) Results() <-chan Result { return s.results }

// CloseSend half-closes: no more requests; Results closes once the server has answered everything.
func (s *Stream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.st.CloseSend()
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

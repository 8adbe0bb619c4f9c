package inctrl

// In-process fake of the InCTRL serve API (same contract, no model). Image bytes decide the behaviour:
// PNG/JPEG/BMP/TIFF magic = decodable, "ANOMALY" = high score, "SLOW" = 500ms delay.
// Stream answers are delayed per id so they come back out of order.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func fakePNG(tag string, anomaly bool) []byte {
	b := append(append([]byte{}, pngMagic...), tag...)
	if anomaly {
		b = append(b, "ANOMALY"...)
	}
	return b
}

func hash01(b []byte) float64 {
	h := sha256.Sum256(b)
	return float64(binary.BigEndian.Uint32(h[:4])) / (1 << 32)
}

type fake struct {
	pb.UnimplementedScorerServer
	pb.UnimplementedPromptRegistryServer
	apiKey string
	name   string      // answers carry it as bundle id: tests see which backend answered
	plan   *streamPlan // shared by the fakes of a multi-backend test
	stop   func()      // stops the server (a backend going down)

	streamIDs    []string // request ids received on streams, in order
	streamFailed bool     // this fake took plan.failAfter

	mu               sync.Mutex
	unavailableFirst int
	busyFirst        int             // then this many unary calls fail with QUEUE_FULL and a retry hint
	busyOnce         map[string]bool // stream ids already refused once ("BUSYONCE" images)
	calls            int
	sets             map[string]*pb.PromptSet
	maxInFlight      int
}

func (f *fake) auth(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-api-key"); len(v) != 1 || v[0] != f.apiKey {
		return status.Error(codes.Unauthenticated, "missing or invalid x-api-key")
	}
	return nil
}

func (f *fake) flaky() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.unavailableFirst {
		return status.Error(codes.Unavailable, "warming up")
	}
	if f.calls-f.unavailableFirst <= f.busyFirst {
		return refusal(codes.ResourceExhausted, "QUEUE_FULL", "queue full; retry after 50 ms", 50*time.Millisecond).Err()
	}
	return nil
}

// refusal is what the real server sends: google.rpc.ErrorInfo and, when retryable (retry > 0), RetryInfo.
func refusal(code codes.Code, reason, msg string, retry time.Duration) *status.Status {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: "inctrl.io"}}
	if retry > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
	}
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		panic(err)
	}
	return st
}

func (f *fake) score(req *pb.ScoreRequest) (*pb.ScoreResponse, *status.Status) {
	ok := false
	for _, m := range [][]byte{pngMagic, {0xff, 0xd8, 0xff}, []byte("BM"), []byte("II*\x00"), []byte("MM\x00*")} {
		ok = ok || bytes.HasPrefix(req.Image, m)
	}
	if !ok {
		return nil, status.New(codes.InvalidArgument, "image is not PNG, JPEG, BMP or TIFF")
	}
	switch p := req.Prompts.(type) {
	case *pb.ScoreRequest_PromptSetId:
		f.mu.Lock()
		_, found := f.sets[p.PromptSetId]
		f.mu.Unlock()
		if !found {
			return nil, status.New(codes.NotFound, "prompt set "+p.PromptSetId+" not found")
		}
	case *pb.ScoreRequest_Inline:
		if len(p.Inline.Shots) == 0 {
			return nil, status.New(codes.InvalidArgument, "no shots")
		}
	default:
		return nil, status.New(codes.InvalidArgument, "no prompts")
	}
	if bytes.Contains(req.Image, []byte("HUGE")) { // waiting does not help: a reason, no retry hint
		return nil, refusal(codes.ResourceExhausted, "PAYLOAD_TOO_LARGE", "message too large", 0)
	}
	if bytes.Contains(req.Image, []byte("SLOW")) {
		time.Sleep(500 * time.Millisecond)
	}
	s := 0.2
	if bytes.Contains(req.Image, []byte("ANOMALY")) {
		s = 0.8
	}
	s += 0.1 * hash01(req.Image)
	r := &pb.ScoreResponse{RequestId: req.RequestId, Score: float32(s), SP: float32(s), BundleId: f.name,
		MapHeight: 2, MapWidth: 2, Timings: &pb.StageTimings{TotalUs: 1000}}
	if !req.OmitMap {
		r.Map = []float32{float32(s), float32(s), float32(s), float32(s)}
	}
	return r, nil
}

func (f *fake) Score(ctx context.Context, req *pb.ScoreRequest) (*pb.ScoreResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	if err := f.flaky(); err != nil {
		return nil, err
	}
	r, st := f.score(req)
	if st != nil {
		return nil, st.Err()
	}
	return r, nil
}

func (f *fake) GetModelInfo(ctx context.Context, _ *pb.ModelInfoRequest) (*pb.ModelInfo, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	if err := f.flaky(); err != nil {
		return nil, err
	}
	return &pb.ModelInfo{BundleId: f.name, Kind: "inctrl", RandomWeights: true}, nil
}

// streamPlan: the first stream to start on any of the fakes sharing it fails with UNAVAILABLE after failAfter
// answers (a server going down), when failAfter > 0.
type streamPlan struct {
	mu        sync.Mutex
	failAfter int
}

func (p *streamPlan) take() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.failAfter
	p.failAfter = 0
	return n
}

func (f *fake) ScoreStream(srv pb.Scorer_ScoreStreamServer) error {
	if err := f.auth(srv.Context()); err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		sendMu   sync.Mutex
		inFlight int
		answered int
		dead     bool
	)
	failAfter := f.plan.take()
	failed := make(chan struct{})
	recvErr := make(chan error, 1)
	go func() {
		recvErr <- f.readStream(srv, &wg, &inFlight, func(req *pb.ScoreRequest) {
			time.Sleep(time.Duration(20 * hash01([]byte(req.RequestId)) * float64(time.Millisecond)))
			f.mu.Lock()
			busy := bytes.Contains(req.Image, []byte("BUSYONCE")) && !f.busyOnce[req.RequestId]
			if f.busyOnce == nil {
				f.busyOnce = map[string]bool{}
			}
			f.busyOnce[req.RequestId] = true
			f.mu.Unlock()
			var r *pb.ScoreResponse
			var st *status.Status
			if busy {
				st = refusal(codes.ResourceExhausted, "QUEUE_FULL", "queue full; retry after 50 ms", 50*time.Millisecond)
			} else {
				r, st = f.score(req)
			}
			if st != nil {
				e := &pb.Error{Code: codeName(st.Code()), Message: st.Message()}
				for _, d := range st.Details() {
					switch d := d.(type) {
					case *errdetails.ErrorInfo:
						e.Reason = d.GetReason()
					case *errdetails.RetryInfo:
						e.RetryAfter = d.GetRetryDelay()
					}
				}
				r = &pb.ScoreResponse{RequestId: req.RequestId, Error: e}
			}
			f.mu.Lock()
			inFlight--
			f.mu.Unlock()
			sendMu.Lock()
			defer sendMu.Unlock()
			if dead {
				return
			}
			if failAfter > 0 && answered == failAfter {
				dead = true
				f.mu.Lock()
				f.streamFailed = true
				f.mu.Unlock()
				close(failed)
				return
			}
			answered++
			_ = srv.Send(r)
		})
	}()
	select {
	case err := <-recvErr:
		if err != nil {
			return err
		}
		wg.Wait()
		select {
		case <-failed:
			return status.Error(codes.Unavailable, f.name+" is shutting down")
		default:
			return nil
		}
	case <-failed:
		return status.Error(codes.Unavailable, f.name+" is shutting down")
	}
}

func (f *fake) readStream(srv pb.Scorer_ScoreStreamServer, wg *sync.WaitGroup, inFlight *int, answer func(*pb.ScoreRequest)) error {
	for {
		req, err := srv.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		*inFlight++
		if *inFlight > f.maxInFlight {
			f.maxInFlight = *inFlight
		}
		f.streamIDs = append(f.streamIDs, req.RequestId)
		f.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer(req)
		}()
	}
}

func (f *fake) CreatePromptSet(ctx context.Context, req *pb.CreatePromptSetRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	if err := f.flaky(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.sets {
		if p.Name == req.Name {
			return nil, status.Error(codes.AlreadyExists, "prompt set "+req.Name+" exists")
		}
	}
	ps := &pb.PromptSet{Id: fmt.Sprintf("ps-%03d", len(f.sets)+1), Name: req.Name, Category: req.Category,
		ShotCount: int32(len(req.Shots)), Version: 1}
	f.sets[ps.Id] = ps
	return ps, nil
}

func (f *fake) GetPromptSet(ctx context.Context, req *pb.GetPromptSetRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ps, ok := f.sets[req.Id]; ok {
		return ps, nil
	}
	return nil, status.Error(codes.NotFound, "prompt set "+req.Id+" not found")
}

func (f *fake) ListPromptSets(ctx context.Context, req *pb.ListPromptSetsRequest) (*pb.ListPromptSetsResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.sets))
	for id := range f.sets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	start, _ := strconv.Atoi(req.PageToken)
	end := min(start+int(req.PageSize), len(ids))
	res := &pb.ListPromptSetsResponse{}
	for _, id := range ids[start:end] {
		res.PromptSets = append(res.PromptSets, f.sets[id])
	}
	if end < len(ids) {
		res.NextPageToken = strconv.Itoa(end)
	}
	return res, nil
}

func (f *fake) DeletePromptSet(ctx context.Context, req *pb.DeletePromptSetRequest) (*pb.DeletePromptSetResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sets[req.Id]; !ok {
		return nil, status.Error(codes.NotFound, "prompt set "+req.Id+" not found")
	}
	delete(f.sets, req.Id)
	return &pb.DeletePromptSetResponse{}, nil
}

// startFake serves the fake on an ephemeral localhost port for the duration of the test.
func startFake(t *testing.T) (*fake, string) {
	return startNamedFake(t, "fake", nil)
}

// startNamedFake serves a fake answering as name; fakes given one plan share its stream failure.
func startNamedFake(t *testing.T, name string, plan *streamPlan) (*fake, string) {
	t.Helper()
	f := &fake{apiKey: "secret", name: name, plan: plan, sets: map[string]*pb.PromptSet{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterScorerServer(s, f)
	pb.RegisterPromptRegistryServer(s, f)
	go func() { _ = s.Serve(lis) }()
	f.stop = s.Stop
	t.Cleanup(s.Stop)
	return f, lis.Addr().String()
}

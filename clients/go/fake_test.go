package inctrl

// In-process fake of the InCTRL serve API (same contract, no model). Image bytes decide the behaviour:
// PNG/JPEG/BMP/TIFF magic = decodable, "ANOMALY" = high score, "SLOW" = 500ms delay.
// Stream answers are delayed per id so they come back out of order.
//
// Models (issue 19) are routed as the server does: fakeModels lists each model's loaded versions; a request naming
// no model gets fakeDefaultModel (a prompt set: the set's own), no version the model's serving (highest) version.
// Prompt sets keep revisions of their shots (issue 22); a query scored against a set is kept under its query id
// until forgetQueries, so AddShots can confirm it as normal.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
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

const fakeDefaultModel = "fake-model"

// fakeModels: loaded versions per model, the serving (highest) one first.
var fakeModels = map[string][]int64{"fake-model": {2, 1}, "other-model": {7}}

// route resolves a request's model and version as the server does; NOT_FOUND with the server's reasons.
func route(model string, version int64) (string, int64, *status.Status) {
	if model == "" {
		model = fakeDefaultModel
	}
	versions, ok := fakeModels[model]
	if !ok {
		return "", 0, refusal(codes.NotFound, "MODEL_NOT_FOUND", "no model "+model, 0)
	}
	if version == 0 {
		return model, versions[0], nil
	}
	if !slices.Contains(versions, version) {
		return "", 0, refusal(codes.NotFound, "MODEL_VERSION_NOT_LOADED", fmt.Sprintf("%s has no loaded version %d", model, version), 0)
	}
	return model, version, nil
}

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
	requests         map[string][]proto.Message         // unary requests as received, per method
	shots            map[string]map[int64][][]byte      // prompt set id -> revision -> shots
	revisions        map[string][]*pb.PromptSetRevision // prompt set id -> its revisions, oldest first
	queries          map[[2]string][]byte               // (prompt set id, query id) -> the scored image
	conflicts        int                                // refuse this many AddShots with ABORTED CONCURRENT_CHANGE
}

func (f *fake) record(method string, req proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == nil {
		f.requests = map[string][]proto.Message{}
	}
	f.requests[method] = append(f.requests[method], req)
}

// sent returns the requests of one method the fake received, in order.
func sent[T proto.Message](f *fake, method string) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, r := range f.requests[method] {
		out = append(out, r.(T))
	}
	return out
}

// forgetQueries: as a replica whose recent-query retention ran out.
func (f *fake) forgetQueries() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = nil
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
	return refusalHinted(code, reason, msg, retry, retry > 0)
}

// refusalHinted: hint tells whether RetryInfo goes along (a zero delay included: "retry at once").
func refusalHinted(code codes.Code, reason, msg string, retry time.Duration, hint bool) *status.Status {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: "inctrl.io"}}
	if hint {
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
	model := req.Model
	switch p := req.Prompts.(type) {
	case *pb.ScoreRequest_PromptSetId:
		f.mu.Lock()
		ps, found := f.sets[p.PromptSetId]
		f.mu.Unlock()
		if !found {
			return nil, status.New(codes.NotFound, "prompt set "+p.PromptSetId+" not found")
		}
		if model == "" {
			model = ps.Model
		}
	case *pb.ScoreRequest_Inline:
		if len(p.Inline.Shots) == 0 {
			return nil, status.New(codes.InvalidArgument, "no shots")
		}
	default:
		return nil, status.New(codes.InvalidArgument, "no prompts")
	}
	model, version, st := route(model, req.ModelVersion)
	if st != nil {
		return nil, st
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
		MapHeight: 2, MapWidth: 2, Timings: &pb.StageTimings{TotalUs: 1000}, Model: model, ModelVersion: version}
	if p, ok := req.Prompts.(*pb.ScoreRequest_PromptSetId); ok {
		f.mu.Lock()
		if f.queries == nil {
			f.queries = map[[2]string][]byte{}
		}
		r.QueryId = fmt.Sprintf("q-%d", len(f.queries)+1)
		f.queries[[2]string{p.PromptSetId, r.QueryId}] = req.Image
		f.mu.Unlock()
	}
	if !req.OmitMap {
		r.Map = []float32{float32(s), float32(s), float32(s), float32(s)}
	}
	return r, nil
}

func (f *fake) Score(ctx context.Context, req *pb.ScoreRequest) (*pb.ScoreResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("Score", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	r, st := f.score(req)
	if st != nil {
		return nil, st.Err()
	}
	return r, nil
}

func (f *fake) GetModelInfo(ctx context.Context, req *pb.ModelInfoRequest) (*pb.ModelInfo, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("GetModelInfo", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	model, version, st := route(req.Model, req.ModelVersion)
	if st != nil {
		return nil, st.Err()
	}
	return &pb.ModelInfo{BundleId: f.name, Kind: "inctrl", RandomWeights: true, Model: model, ModelVersion: version,
		Precision: "fp32"}, nil
}

func (f *fake) ListModels(ctx context.Context, _ *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	if err := f.flaky(); err != nil {
		return nil, err
	}
	res := &pb.ListModelsResponse{DefaultModel: fakeDefaultModel}
	for _, name := range []string{"fake-model", "other-model"} {
		m := &pb.ModelSummary{Name: name, ServingVersion: fakeModels[name][0]}
		for _, v := range fakeModels[name] {
			m.Versions = append(m.Versions, &pb.ModelVersionInfo{Version: v, State: "READY",
				BundleId: fmt.Sprintf("%s-v%d", name, v), Kind: "inctrl", Precision: "fp32", RandomWeights: true})
		}
		res.Models = append(res.Models, m)
	}
	return res, nil
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
	f.record("CreatePromptSet", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	model, _, st := route(req.Model, 0)
	if st != nil {
		return nil, st.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.sets {
		if p.Name == req.Name {
			return nil, status.Error(codes.AlreadyExists, "prompt set "+req.Name+" exists")
		}
	}
	ps := &pb.PromptSet{Id: fmt.Sprintf("ps-%03d", len(f.sets)+1), Name: req.Name, Category: req.Category,
		ShotCount: int32(len(req.Shots)), Version: 1, Model: model, Revision: 1}
	for _, v := range fakeModels[model] { // every loaded version encodes the set (the server: in the background)
		ps.Encodings = append(ps.Encodings, &pb.PromptSetEncoding{Model: model, ModelVersion: v, State: "READY",
			Version: 1, Calibration: &pb.Calibration{}})
	}
	f.sets[ps.Id] = ps
	f.shots[ps.Id] = map[int64][][]byte{1: req.Shots}
	f.revisions[ps.Id] = []*pb.PromptSetRevision{{Revision: 1, ShotCount: ps.ShotCount, Reason: "created"}}
	return ps, nil
}

// set returns a stored prompt set; under f.mu. Changes store a changed clone, so an answer already returned (and
// being marshalled) is never written to.
func (f *fake) set(id string) (*pb.PromptSet, error) {
	ps, ok := f.sets[id]
	if !ok {
		return nil, refusal(codes.NotFound, "NOT_FOUND", "prompt set "+id+" not found", 0).Err()
	}
	return ps, nil
}

func (f *fake) SetThreshold(ctx context.Context, req *pb.SetThresholdRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("SetThreshold", req)
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	version := req.ModelVersion
	if version == 0 {
		version = fakeModels[ps.Model][0]
	}
	i := slices.IndexFunc(ps.Encodings, func(e *pb.PromptSetEncoding) bool { return e.ModelVersion == version })
	if i < 0 {
		return nil, refusal(codes.FailedPrecondition, "PROMPT_SET_NOT_ENCODED", fmt.Sprint("not encoded by version ", version), 0).Err()
	}
	ps = proto.Clone(ps).(*pb.PromptSet)
	enc := ps.Encodings[i]
	enc.Calibration.ThresholdOverridden = req.Threshold != nil
	enc.Calibration.Threshold = req.GetThreshold()
	enc.Version++
	ps.Version++
	f.sets[ps.Id] = ps
	return ps, nil
}

func (f *fake) ReencodePromptSet(ctx context.Context, req *pb.ReencodePromptSetRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("ReencodePromptSet", req)
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	_, version, st := route(ps.Model, req.ModelVersion)
	if st != nil {
		return nil, st.Err()
	}
	ps = proto.Clone(ps).(*pb.PromptSet)
	for _, e := range ps.Encodings {
		if e.ModelVersion == version {
			e.Version++
		}
	}
	ps.Version++
	f.sets[ps.Id] = ps
	return ps, nil
}

// newRevision: revision max+1 with these shots, the set pointing at it; under f.mu.
func (f *fake) newRevision(ps *pb.PromptSet, shots [][]byte, reason string) *pb.PromptSet {
	revs := f.revisions[ps.Id]
	rev := revs[len(revs)-1].Revision + 1
	f.shots[ps.Id][rev] = shots
	f.revisions[ps.Id] = append(revs, &pb.PromptSetRevision{Revision: rev, ShotCount: int32(len(shots)), Reason: reason})
	ps = proto.Clone(ps).(*pb.PromptSet)
	ps.Revision, ps.ShotCount = rev, int32(len(shots))
	ps.Version++
	f.sets[ps.Id] = ps
	return ps
}

func (f *fake) AddShots(ctx context.Context, req *pb.AddShotsRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("AddShots", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conflicts > 0 { // the server's answer when the set's shots changed while it encoded the new revision
		f.conflicts--
		return nil, refusalHinted(codes.Aborted, "CONCURRENT_CHANGE", "the set's shots changed meanwhile; retry", 0, true).Err()
	}
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	added := append([][]byte{}, req.Shots...)
	for _, q := range req.QueryIds { // after the uploads, in the order named, as the server appends them
		img, ok := f.queries[[2]string{ps.Id, q}]
		if !ok {
			return nil, refusal(codes.NotFound, "QUERY_NOT_RETAINED", "query "+q+" is not kept (any more) on this replica", 0).Err()
		}
		added = append(added, img)
	}
	if len(added) == 0 {
		return nil, refusal(codes.InvalidArgument, "NO_SHOTS", "name images or scored queries to add", 0).Err()
	}
	current := f.shots[ps.Id][ps.Revision]
	return f.newRevision(ps, append(append([][]byte{}, current...), added...), "shots-added"), nil
}

func (f *fake) RemoveShots(ctx context.Context, req *pb.RemoveShotsRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("RemoveShots", req)
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	current := f.shots[ps.Id][ps.Revision]
	if len(req.Shots) == 0 {
		return nil, refusal(codes.InvalidArgument, "NO_SHOTS", "name the shots to remove", 0).Err()
	}
	drop := map[int32]bool{}
	for _, p := range req.Shots {
		if p < 0 || int(p) >= len(current) {
			return nil, refusal(codes.InvalidArgument, "INVALID_SHOT", fmt.Sprintf("the set has %d shots", len(current)), 0).Err()
		}
		drop[p] = true
	}
	if len(drop) == len(current) {
		return nil, refusal(codes.InvalidArgument, "NO_SHOTS", "a prompt set keeps at least one shot", 0).Err()
	}
	var kept [][]byte
	for i, s := range current {
		if !drop[int32(i)] {
			kept = append(kept, s)
		}
	}
	return f.newRevision(ps, kept, "shots-removed"), nil
}

func (f *fake) ListRevisions(ctx context.Context, req *pb.ListRevisionsRequest) (*pb.ListRevisionsResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("ListRevisions", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	return &pb.ListRevisionsResponse{Revisions: f.revisions[ps.Id], Current: ps.Revision}, nil
}

func (f *fake) RollbackPromptSet(ctx context.Context, req *pb.RollbackPromptSetRequest) (*pb.PromptSet, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	f.record("RollbackPromptSet", req)
	if err := f.flaky(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.set(req.Id)
	if err != nil {
		return nil, err
	}
	shots, ok := f.shots[ps.Id][req.Revision]
	if !ok {
		return nil, refusal(codes.NotFound, "REVISION_NOT_FOUND", fmt.Sprint("prompt set has no revision ", req.Revision), 0).Err()
	}
	ps = proto.Clone(ps).(*pb.PromptSet)
	ps.Revision, ps.ShotCount = req.Revision, int32(len(shots))
	ps.Version++
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
	f := &fake{apiKey: "secret", name: name, plan: plan, sets: map[string]*pb.PromptSet{},
		shots: map[string]map[int64][][]byte{}, revisions: map[string][]*pb.PromptSetRevision{}}
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

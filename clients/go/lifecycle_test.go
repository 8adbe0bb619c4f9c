package inctrl

// Offline tests of model choice (issue 19) and prompt sets that grow (issue 22) against the fake server.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

func wantReason(t *testing.T, err error, kind *Error, reason string) {
	t.Helper()
	var e *Error
	if !errors.Is(err, kind) || !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("want %s with reason %s, got %v", codeName(kind.Code), reason, err)
	}
}

func TestScoreNamesAModelVersionAndLearnsWhichAnswered(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	r, err := c.Score(ctx, fakePNG("q", false), Inline("x", shots...))
	if err != nil || r.Model != "fake-model" || r.ModelVersion != 2 || r.QueryId != "" {
		t.Fatalf("default model: %v %v", r, err) // nothing named: the default model's serving version; inline: no query id
	}
	r, err = c.Score(ctx, fakePNG("q", false), Inline("x", shots...).WithModel("fake-model", 1))
	if err != nil || r.Model != "fake-model" || r.ModelVersion != 1 {
		t.Fatalf("version 1: %v %v", r, err)
	}
	last := sent[*pb.ScoreRequest](f, "Score")
	if req := last[len(last)-1]; req.Model != "fake-model" || req.ModelVersion != 1 {
		t.Fatalf("sent %v", req)
	}
	if r, err := c.Score(ctx, fakePNG("q", false), Inline("x", shots...).WithModel("other-model", 0)); err != nil || r.ModelVersion != 7 {
		t.Fatalf("other model: %v %v", r, err)
	}
	_, err = c.Score(ctx, fakePNG("q", false), Inline("x", shots...).WithModel("nope", 0))
	wantReason(t, err, ErrNotFound, "MODEL_NOT_FOUND")
	_, err = c.Score(ctx, fakePNG("q", false), Inline("x", shots...).WithModel("", 9))
	wantReason(t, err, ErrNotFound, "MODEL_VERSION_NOT_LOADED")
	if n := len(sent[*pb.ScoreRequest](f, "Score")); n != 5 { // not found: no retry hint, not resent
		t.Fatalf("%d Score calls", n)
	}
}

func TestModelInfoAndListModels(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	if info, err := c.ModelInfo(ctx); err != nil || info.Model != "fake-model" || info.ModelVersion != 2 || info.Precision != "fp32" {
		t.Fatalf("default: %v %v", info, err)
	}
	if info, err := c.GetModelInfo(ctx, "fake-model", 1); err != nil || info.ModelVersion != 1 {
		t.Fatalf("version 1: %v %v", info, err)
	}
	if reqs := sent[*pb.ModelInfoRequest](f, "GetModelInfo"); reqs[1].Model != "fake-model" || reqs[1].ModelVersion != 1 {
		t.Fatalf("sent %v", reqs[1])
	}
	_, err := c.GetModelInfo(ctx, "fake-model", 3)
	wantReason(t, err, ErrNotFound, "MODEL_VERSION_NOT_LOADED")
	f.mu.Lock()
	f.calls, f.busyFirst = 0, 2
	f.mu.Unlock()
	models, err := c.ListModels(ctx) // a read: resent after the retry hint
	if err != nil || models.DefaultModel != "fake-model" || f.calls != 3 {
		t.Fatalf("list: %v %v calls=%d", models, err, f.calls)
	}
	got := map[string][]int64{}
	for _, m := range models.Models {
		for _, v := range m.Versions {
			got[m.Name] = append(got[m.Name], v.Version)
		}
		if m.ServingVersion != fakeModels[m.Name][0] {
			t.Fatalf("%s serving %d", m.Name, m.ServingVersion)
		}
	}
	if !slices.Equal(got["fake-model"], []int64{2, 1}) || !slices.Equal(got["other-model"], []int64{7}) {
		t.Fatalf("versions %v", got)
	}
}

func TestStreamDefaultModelAndPerRequestOverride(t *testing.T) {
	_, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	s, err := c.OpenStream(ctx, StreamOptions{Window: 4, Defaults: Inline("x", shots...).WithModel("fake-model", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, "a", fakePNG("a", false)); err != nil {
		t.Fatal(err)
	}
	req, _ := Inline("x", shots...).WithModel("other-model", 0).Request("b", fakePNG("b", false), false)
	if _, err := s.SendRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	req, _ = Inline("x", shots...).WithModel("fake-model", 5).Request("c", fakePNG("c", false), false)
	if _, err := s.SendRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	s.CloseSend()
	got := map[string]Result{}
	for _, r := range collect(s) {
		got[r.RequestID] = r
	}
	if a := got["a"].Response; a.GetModel() != "fake-model" || a.GetModelVersion() != 1 {
		t.Fatalf("a: %v", got["a"])
	}
	if b := got["b"].Response; b.GetModel() != "other-model" || b.GetModelVersion() != 7 {
		t.Fatalf("b: %v", got["b"])
	}
	wantReason(t, got["c"].Err, ErrNotFound, "MODEL_VERSION_NOT_LOADED")
}

func TestPromptSetModelEncodingsThresholdAndReencodePerVersion(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	ps, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "m", Category: "x", Shots: shots, Model: "other-model"})
	if err != nil || ps.Model != "other-model" || ps.Revision != 1 || len(ps.Encodings) != 1 || ps.Encodings[0].ModelVersion != 7 {
		t.Fatalf("register: %v %v", ps, err)
	}
	if r, err := c.Score(ctx, fakePNG("q", false), PromptSet(ps.Id)); err != nil || r.Model != "other-model" || r.ModelVersion != 7 {
		t.Fatalf("score by set: %v %v", r, err) // the set's own model
	}
	ps, err = c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "d", Category: "x", Shots: shots})
	if err != nil || ps.Model != "fake-model" || len(ps.Encodings) != 2 {
		t.Fatalf("register default: %v %v", ps, err)
	}
	ps, err = c.SetThreshold(ctx, &pb.SetThresholdRequest{Id: ps.Id, Threshold: proto.Float32(0.7), ModelVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	byVersion := func(ps *pb.PromptSet, v int64) *pb.PromptSetEncoding {
		i := slices.IndexFunc(ps.Encodings, func(e *pb.PromptSetEncoding) bool { return e.ModelVersion == v })
		return ps.Encodings[i]
	}
	if !byVersion(ps, 1).Calibration.ThresholdOverridden || byVersion(ps, 2).Calibration.ThresholdOverridden {
		t.Fatalf("override on the wrong encoding: %v", ps.Encodings)
	}
	if ps, err = c.SetThreshold(ctx, &pb.SetThresholdRequest{Id: ps.Id, ModelVersion: 1}); err != nil || byVersion(ps, 1).Calibration.ThresholdOverridden {
		t.Fatalf("clear: %v %v", ps, err)
	}
	if reqs := sent[*pb.SetThresholdRequest](f, "SetThreshold"); reqs[1].Threshold != nil || reqs[0].GetThreshold() != 0.7 {
		t.Fatalf("sent %v", reqs)
	}
	before := byVersion(ps, 1).Version
	if ps, err = c.ReencodePromptSet(ctx, ps.Id, 1); err != nil || byVersion(ps, 1).Version != before+1 {
		t.Fatalf("reencode: %v %v", ps, err)
	}
	_, err = c.ReencodePromptSet(ctx, ps.Id, 4)
	wantReason(t, err, ErrNotFound, "MODEL_VERSION_NOT_LOADED")
}

func TestConfirmAScoredQueryAsNormalThenRemoveAndRollBack(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	ps, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "grow", Category: "x", Shots: shots})
	if err != nil {
		t.Fatal(err)
	}
	query := fakePNG("looks-normal", false)
	r, err := c.Score(ctx, query, PromptSet(ps.Id))
	if err != nil || r.QueryId == "" {
		t.Fatalf("score: %v %v", r, err)
	}
	grown, err := c.AddShots(ctx, ps.Id, nil, []string{r.QueryId})
	if err != nil || grown.Revision != 2 || grown.ShotCount != 3 {
		t.Fatalf("add: %v %v", grown, err)
	}
	if got := f.shots[ps.Id][2]; len(got) != 3 || !bytes.Equal(got[2], query) { // the scored image, not an upload
		t.Fatalf("revision 2 shots %q", got)
	}
	if grown, err = c.AddShots(ctx, ps.Id, [][]byte{fakePNG("n3", false)}, nil); err != nil || grown.Revision != 3 || grown.ShotCount != 4 {
		t.Fatalf("upload: %v %v", grown, err)
	}
	smaller, err := c.RemoveShots(ctx, ps.Id, 0, 2)
	if err != nil || smaller.Revision != 4 || smaller.ShotCount != 2 {
		t.Fatalf("remove: %v %v", smaller, err)
	}
	if got := f.shots[ps.Id][4]; !bytes.Equal(got[0], shots[1]) || !bytes.Equal(got[1], fakePNG("n3", false)) {
		t.Fatalf("revision 4 shots %q", got)
	}
	revs, err := c.ListRevisions(ctx, ps.Id)
	if err != nil || revs.Current != 4 || len(revs.Revisions) != 4 {
		t.Fatalf("revisions: %v %v", revs, err)
	}
	var reasons []string
	for _, v := range revs.Revisions {
		reasons = append(reasons, v.Reason)
	}
	if !slices.Equal(reasons, []string{"created", "shots-added", "shots-added", "shots-removed"}) {
		t.Fatalf("reasons %v", reasons)
	}
	if back, err := c.RollbackPromptSet(ctx, ps.Id, 2); err != nil || back.Revision != 2 || back.ShotCount != 3 {
		t.Fatalf("rollback: %v %v", back, err)
	}
}

func TestGrowingASetReportsTheServersReasons(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	ps, _ := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "grow", Category: "x", Shots: shots})
	r, _ := c.Score(ctx, fakePNG("q", false), PromptSet(ps.Id))
	f.forgetQueries()
	_, err := c.AddShots(ctx, ps.Id, nil, []string{r.QueryId})
	wantReason(t, err, ErrNotFound, "QUERY_NOT_RETAINED")
	_, err = c.AddShots(ctx, ps.Id, nil, nil)
	wantReason(t, err, ErrInvalidArgument, "NO_SHOTS")
	_, err = c.RemoveShots(ctx, ps.Id, 2)
	wantReason(t, err, ErrInvalidArgument, "INVALID_SHOT")
	_, err = c.RemoveShots(ctx, ps.Id, 0, 1)
	wantReason(t, err, ErrInvalidArgument, "NO_SHOTS")
	_, err = c.RollbackPromptSet(ctx, ps.Id, 9)
	wantReason(t, err, ErrNotFound, "REVISION_NOT_FOUND")
	_, err = c.ListRevisions(ctx, "missing")
	wantReason(t, err, ErrNotFound, "NOT_FOUND")
	if got, _ := c.GetPromptSet(ctx, ps.Id); got.Revision != 1 {
		t.Fatalf("revision %d after refusals", got.Revision)
	}
}

// AddShots, RemoveShots and RollbackPromptSet make a new revision: a resend could add the shots twice, so even a
// refusal with a retry hint (CONCURRENT_CHANGE, QUEUE_FULL) reaches the caller after one attempt.
func TestShotWritesAreNeverResentAndListRevisionsIs(t *testing.T) {
	f, addr := startFake(t)
	c := connectFake(t, addr, "secret")
	ctx := context.Background()
	ps, _ := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: "grow", Category: "x", Shots: shots})
	f.mu.Lock()
	f.conflicts = 1
	f.mu.Unlock()
	_, err := c.AddShots(ctx, ps.Id, [][]byte{fakePNG("n3", false)}, nil)
	wantReason(t, err, ErrAborted, "CONCURRENT_CHANGE")
	if e := err.(*Error); !e.Retryable || e.RetryAfter != 0 || len(sent[*pb.AddShotsRequest](f, "AddShots")) != 1 {
		t.Fatalf("conflict: %+v, %d calls", e, len(sent[*pb.AddShotsRequest](f, "AddShots")))
	}
	for _, call := range []struct {
		method string
		do     func() error
	}{
		{"AddShots", func() error { _, e := c.AddShots(ctx, ps.Id, [][]byte{fakePNG("n3", false)}, nil); return e }},
		{"RollbackPromptSet", func() error { _, e := c.RollbackPromptSet(ctx, ps.Id, 1); return e }},
	} {
		f.mu.Lock()
		f.calls, f.busyFirst = 0, 1
		f.mu.Unlock()
		before := len(sent[proto.Message](f, call.method))
		wantReason(t, call.do(), ErrResourceExhausted, "QUEUE_FULL")
		if n := len(sent[proto.Message](f, call.method)) - before; n != 1 {
			t.Fatalf("%s sent %d times", call.method, n)
		}
	}
	f.mu.Lock()
	f.calls, f.busyFirst, f.unavailableFirst = 0, 0, 1 // nor resent by gRPC on UNAVAILABLE
	f.mu.Unlock()
	if _, err := c.AddShots(ctx, ps.Id, [][]byte{fakePNG("n3", false)}, nil); !errors.Is(err, ErrUnavailable) || f.calls != 1 {
		t.Fatalf("unavailable: %v calls=%d", err, f.calls)
	}
	f.mu.Lock()
	f.calls, f.unavailableFirst, f.busyFirst = 0, 1, 1 // UNAVAILABLE (gRPC's retry), then a hint (the client's)
	f.mu.Unlock()
	if revs, err := c.ListRevisions(ctx, ps.Id); err != nil || revs.Current != 1 || f.calls != 3 {
		t.Fatalf("list revisions: %v %v calls=%d", revs, err, f.calls)
	}
}

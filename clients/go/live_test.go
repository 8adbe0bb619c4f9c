package inctrl

// Live tests against a real server at $INCTRL_ADDR (key $INCTRL_API_KEY, images from $INCTRL_DATA, default
// <repo>/../shared/data). Skipped with a message when INCTRL_ADDR is unset; FAIL when it is set but unreachable.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

func liveClient(t *testing.T, key string) *Client {
	t.Helper()
	addr := os.Getenv("INCTRL_ADDR")
	if addr == "" {
		t.Skip("INCTRL_ADDR is not set: live tests need a running InCTRL serve (e.g. INCTRL_ADDR=localhost:8080 INCTRL_API_KEY=...)")
	}
	c, err := Connect(addr, WithAPIKey(key), WithTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	liveOnce.Do(func() { // probe once so an unreachable server fails every live test fast, not after 15s each
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		liveErr = c.WaitReady(ctx)
	})
	if liveErr != nil {
		t.Fatalf("server at %s unreachable: %v", addr, liveErr)
	}
	return c
}

var (
	liveOnce sync.Once
	liveErr  error
)

// liveData returns up to 4 shots and the test images of the small elpv "mono" category.
func liveData(t *testing.T) (shots [][]byte, tests [][]byte) {
	dir := os.Getenv("INCTRL_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		t.Fatalf("test data: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var shotPaths, testPaths []string
	for _, r := range rows[1:] {
		if r[2] != "mono" {
			continue
		}
		if strings.Contains(r[0], "/shots/") {
			shotPaths = append(shotPaths, r[0])
		} else {
			testPaths = append(testPaths, r[0])
		}
	}
	sort.Strings(shotPaths)
	sort.Strings(testPaths)
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, p := range shotPaths[:min(4, len(shotPaths))] {
		shots = append(shots, read(p))
	}
	for _, p := range testPaths {
		tests = append(tests, read(p))
	}
	return shots, tests
}

func TestLiveScoreOneImage(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY"))
	shots, tests := liveData(t)
	r, err := c.Score(context.Background(), tests[0], Inline("mono", shots...))
	if err != nil || r.Score < 0 || r.Score > 1 || r.BundleId == "" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestLiveStream50(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY"))
	shots, tests := liveData(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := c.OpenStream(ctx, StreamOptions{Window: 8, Defaults: Inline("mono", shots...), OmitMap: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []Result)
	go func() { done <- collect(s) }()
	for i := 0; i < 50; i++ {
		if _, err := s.Send(ctx, fmt.Sprint("live-", i), tests[i%len(tests)]); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.CloseSend()
	results := <-done
	seen := map[string]int{}
	for _, r := range results {
		seen[r.RequestID]++
		if r.Err != nil {
			t.Errorf("%s: %v", r.RequestID, r.Err)
		} else if r.Response.RequestId != r.RequestID {
			t.Errorf("response id %s for %s", r.Response.RequestId, r.RequestID)
		}
	}
	for i := 0; i < 50; i++ {
		if n := seen[fmt.Sprint("live-", i)]; n != 1 {
			t.Errorf("live-%d answered %d times", i, n)
		}
	}
	if len(results) != 50 || len(s.Unmatched()) != 0 || s.Err() != nil {
		t.Fatalf("results=%d unmatched=%d err=%v", len(results), len(s.Unmatched()), s.Err())
	}
}

func TestLiveUndecodableImage(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY"))
	shots, _ := liveData(t)
	if _, err := c.Score(context.Background(), []byte("this is not an image"), Inline("mono", shots...)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v", err)
	}
}

func TestLiveBadAPIKey(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY")+"-wrong")
	shots, tests := liveData(t)
	if _, err := c.Score(context.Background(), tests[0], Inline("mono", shots...)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("got %v", err)
	}
}

func TestLiveModelsAndTheVersionThatAnswered(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY"))
	shots, tests := liveData(t)
	ctx := context.Background()
	models, err := c.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var def *pb.ModelSummary
	for _, m := range models.Models {
		if m.Name == models.DefaultModel {
			def = m
		}
	}
	if def == nil || def.ServingVersion <= 0 {
		t.Fatalf("default model %q not listed with a serving version: %v", models.DefaultModel, models)
	}
	info, err := c.GetModelInfo(ctx, def.Name, def.ServingVersion)
	if err != nil || info.Model != def.Name || info.ModelVersion != def.ServingVersion || info.Precision == "" {
		t.Fatalf("model info: %v %v", info, err)
	}
	r, err := c.Score(ctx, tests[0], Inline("mono", shots...).WithModel(def.Name, def.ServingVersion))
	if err != nil || r.Model != def.Name || r.ModelVersion != def.ServingVersion {
		t.Fatalf("score: %v %v", r, err)
	}
	_, err = c.Score(ctx, tests[0], Inline("mono", shots...).WithModel(fmt.Sprint("no-such-model-", time.Now().UnixNano()), 0))
	var e *Error
	if !errors.As(err, &e) || e.Reason != "MODEL_NOT_FOUND" {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestLiveConfirmAScoredQueryAsNormalThenRollBack(t *testing.T) {
	c := liveClient(t, os.Getenv("INCTRL_API_KEY"))
	shots, tests := liveData(t)
	ctx := context.Background()
	ps, err := c.RegisterPromptSet(ctx, &pb.CreatePromptSetRequest{Name: fmt.Sprint("live-go-grow-", time.Now().UnixNano()),
		Category: "mono", Shots: shots[:2]})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.DeletePromptSet(ctx, ps.Id) }()
	first, err := c.Score(ctx, tests[0], PromptSet(ps.Id))
	if err != nil || first.QueryId == "" || first.ModelVersion <= 0 {
		t.Fatalf("score: %v %v", first, err)
	}
	grown, err := c.AddShots(ctx, ps.Id, nil, []string{first.QueryId})
	if err != nil || grown.Revision != 2 || grown.ShotCount != 3 {
		t.Fatalf("confirm: %v %v", grown, err)
	}
	if revs, err := c.ListRevisions(ctx, ps.Id); err != nil || revs.Current != 2 || len(revs.Revisions) != 2 {
		t.Fatalf("revisions: %v %v", revs, err)
	}
	_, err = c.AddShots(ctx, ps.Id, nil, []string{"never-scored"})
	var e *Error
	if !errors.As(err, &e) || e.Reason != "QUERY_NOT_RETAINED" {
		t.Fatalf("unknown query: %v", err)
	}
	if back, err := c.RollbackPromptSet(ctx, ps.Id, 1); err != nil || back.Revision != 1 || back.ShotCount != 2 {
		t.Fatalf("rollback: %v %v", back, err)
	}
	again, err := c.Score(ctx, tests[0], PromptSet(ps.Id))
	if err != nil || again.Score != first.Score { // revision 1's stored encoding serves it again, bit for bit
		t.Fatalf("after rollback: %v (before %v) %v", again.GetScore(), first.Score, err)
	}
}

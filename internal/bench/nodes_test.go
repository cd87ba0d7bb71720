package bench

import (
	"os"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/store/postgres/pgtest"
	"github.com/heraldpush/herald/internal/testpush"
)

// TestWebPushNodes runs the send on three engines sharing one PostgreSQL
// database and checks that every push is accounted for, once.
func TestWebPushNodes(t *testing.T) {
	const n = 3000
	r, err := WebPush(testContext(t), WebPushOptions{Subscribers: n, Verify: testpush.VerifySample, SampleEvery: 50,
		CryptoDuration: -1, Probes: 2, Store: pgtest.Database(t, os.Getenv), Nodes: 3})
	if err != nil {
		t.Fatalf("%v: %v", err, r.Problems)
	}
	if !r.OK || r.Delivered != n || r.Missing != 0 || r.Duplicates != 0 || r.PushesTotal != n {
		t.Fatalf("not every push accounted for: %+v", r)
	}
	if r.Nodes != 3 || r.Store != "postgres" {
		t.Errorf("result says %d node(s) on %q, want 3 on postgres", r.Nodes, r.Store)
	}
	if m := r.Message; m.State != "done" || m.Targeted != n || m.Sent != n {
		t.Errorf("message counters %+v", m)
	}
}

func TestWebPushNodesNeedPostgres(t *testing.T) {
	_, err := WebPush(testContext(t), WebPushOptions{Subscribers: 10, Nodes: 2, CryptoDuration: -1})
	if err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("2 nodes on SQLite: error %v, want one naming postgres", err)
	}
}

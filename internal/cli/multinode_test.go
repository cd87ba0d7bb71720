package cli_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres"
	"github.com/heraldpush/herald/internal/store/postgres/pgtest"
	"github.com/heraldpush/herald/internal/testpush"
)

// The several-node tests run three `herald serve` processes on one
// PostgreSQL database (pgtest.Database: a database of their own on the
// server HERALD_TEST_POSTGRES names) against one testpush in this process,
// and count what every subscription received.

// buildPlainHerald compiles cmd/herald without the race detector, once:
// three nodes pushing 100,000 messages under -race would take most of
// CI's time. The race detector still covers these code paths in the
// package tests and in the single-process tests.
var buildPlainHerald = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "herald-plain")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/heraldpush/herald/cmd/herald").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// cluster is nodes sharing one database and one master key (every node
// must open the VAPID keys the others sealed).
type cluster struct {
	pg     string // the database's URL
	master string // HERALD_MASTER_KEY, base64
	app    apps.Credentials
	nodes  []*process
}

// newCluster creates a fresh database and an app in it, through the CLI
// as an operator would (`herald app create --store postgres://…`).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{pg: pgtest.Database(t, os.Getenv)}
	key := make([]byte, 32)
	rand.Read(key)
	c.master = base64.StdEncoding.EncodeToString(key)
	out := herald(t, map[string]string{"HERALD_MASTER_KEY": c.master},
		"app", "create", "--name", "several", "--json", "--store", c.pg, "--data", t.TempDir())
	if err := json.Unmarshal([]byte(out), &c.app); err != nil {
		t.Fatalf("app create --json printed %q: %v", out, err)
	}
	return c
}

// start runs k nodes, each with a data directory of its own.
func (c *cluster) start(t *testing.T, k int, extra ...string) {
	t.Helper()
	bin, err := buildPlainHerald()
	if err != nil {
		t.Fatal(err)
	}
	for range k {
		args := append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0",
			"--allow-endpoint", "127.0.0.1", "--store", c.pg}, extra...)
		c.nodes = append(c.nodes, startNode(t, bin, []string{"HERALD_MASTER_KEY=" + c.master}, args...))
	}
}

// startNode runs bin with args and env added to this process's
// environment, and waits until it listens; the test's cleanup kills it.
func startNode(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	dieWithTest(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case a := <-addr:
		p.URL = "http://" + a
		return p
	case <-p.done:
		t.Fatalf("herald serve exited: %v\n%s", p.waitErr, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("herald serve did not listen within 60s:\n%s", p.logs.String())
	}
	return nil
}

// register writes n testpush subscriptions as the app's subscribers
// through the store's bulk path (UpsertSubscribers, 2,000 a transaction),
// as `herald import` does, rather than n HTTP calls.
func (c *cluster) register(t *testing.T, tp *testpush.Server, n int) []testpush.Subscription {
	t.Helper()
	subs, err := tp.NewSubscriptions(n)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := subs[0].WebPush() // NewSubscriptions shares one key pair
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(t.Context(), c.pg, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const batch = 2000
	rows := make([]store.Subscriber, 0, batch)
	for i := 0; i < n; i += batch {
		rows = rows[:0]
		for _, s := range subs[i:min(i+batch, n)] {
			rows = append(rows, store.Subscriber{AppID: c.app.ID, Channel: store.ChannelWebPush,
				Token: s.Endpoint, P256DH: keys.Keys.P256DH, Auth: keys.Keys.Auth})
		}
		created, _, err := st.UpsertSubscribers(t.Context(), rows)
		if err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		if created != len(rows) {
			t.Fatalf("UpsertSubscribers created %d of %d", created, len(rows))
		}
	}
	return subs
}

// send posts a message to all through node i and returns its id.
func (c *cluster) send(t *testing.T, i int, title string) string {
	t.Helper()
	r := do(t, http.DefaultClient, "POST", c.nodes[i].URL+"/v1/messages", bearer(c.app.APIKey),
		map[string]any{"to": "all", "content": map[string]any{"title": title}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	return r.json(t)["id"].(string)
}

// batchesByNode counts the message's batch jobs by the River client
// (node) that finished them, and how many jobs more than one node ran.
func (c *cluster) batchesByNode(t *testing.T) (byNode map[string]int, rescued int) {
	t.Helper()
	st, err := postgres.Open(t.Context(), c.pg, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().QueryContext(t.Context(), `SELECT attempted_by[cardinality(attempted_by)], count(*),
		count(*) FILTER (WHERE cardinality(attempted_by) > 1)
		FROM river_job WHERE kind = 'herald.deliver' AND state = 'completed' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byNode = map[string]int{}
	for rows.Next() {
		var node string
		var n, r int
		if err := rows.Scan(&node, &n, &r); err != nil {
			t.Fatal(err)
		}
		byNode[node] = n
		rescued += r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return byNode, rescued
}

// waitJobsSettled waits until no delivery job is left to run (each is
// completed, discarded or cancelled).
func (c *cluster) waitJobsSettled(t *testing.T, within time.Duration) {
	t.Helper()
	st, err := postgres.Open(t.Context(), c.pg, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(within)
	for {
		var left int
		if err := st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'herald.deliver'
			AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d delivery jobs still unfinished after %v", left, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tally counts the subscriptions that got nothing and the extra copies.
func tally(tp *testpush.Server, subs []testpush.Subscription) (missing, extra int) {
	for _, s := range subs {
		switch d := tp.Deliveries(s.ID); {
		case d == 0:
			missing++
		case d > 1:
			extra += d - 1
		}
	}
	return missing, extra
}

// TestThreeNodesShareOneSend starts three nodes on one PostgreSQL, sends
// to 100,000 subscribers through one of them, and checks through another
// that the message is done, that every recipient got it exactly once
// (testpush counts each subscription's deliveries), and that the batches
// were worked by more than one node.
func TestThreeNodesShareOneSend(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 recipients and three child processes")
	}
	const n = 100000
	c := newCluster(t)
	tp, err := testpush.Start(testpush.Options{Verify: testpush.VerifySample, SampleEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	began := time.Now()
	subs := c.register(t, tp, n)
	registered := time.Since(began)
	c.start(t, 3)

	began = time.Now()
	id := c.send(t, 0, "one send, three nodes")
	m := waitDone(t, &server{URL: c.nodes[2].URL}, c.app.APIKey, id, 5*time.Minute)
	took := time.Since(began)
	missing, extra := tally(tp, subs)
	byNode, rescued := c.batchesByNode(t)
	t.Logf("%d subscribers registered in bulk in %v; sent in %v (%.0f/s); targeted %d, sent %d; batches by node %v (rescued %d); recipients missing %d, duplicate deliveries %d",
		n, registered.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds(),
		m.Targeted, m.Sent, byNode, rescued, missing, extra)
	if missing > 0 {
		t.Errorf("%d recipients never got the message", missing)
	}
	if m.Targeted != n || m.Sent != n {
		t.Errorf("counters: targeted %d, sent %d; want %d each", m.Targeted, m.Sent, n)
	}
	// No node died, so no batch ran twice: River hands each job to one
	// node, and nothing may be delivered twice.
	if extra > 0 {
		t.Errorf("%d duplicate deliveries with no node lost; want none", extra)
	}
	if len(byNode) < 2 {
		t.Errorf("batches were worked by %d node(s), want the work shared: %v", len(byNode), byNode)
	}
}

// TestNodeKilledMidSendOthersFinish kills one of three nodes with SIGKILL
// in the middle of a send; the other two take over its batches once they
// have run longer than --rescue-after, and finish the message with nothing
// lost. Duplicates are at most what the dead node had in flight.
func TestNodeKilledMidSendOthersFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 recipients and three child processes")
	}
	const n = 30000
	c := newCluster(t)
	tp, err := testpush.Start(testpush.Options{Verify: testpush.VerifySample, SampleEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	subs := c.register(t, tp, n)
	// A dead node's jobs wait this long before another takes them (the
	// default is 2m). A batch of 500 here takes well under a second, but
	// a live node's batch is cut off at half this (River's job timeout),
	// so it keeps a wide margin for a machine busy with other tests.
	c.start(t, 3, "--rescue-after", "20s")
	// Slow the push service so that the send is still going at the kill.
	tp.FailAll(testpush.Slow(15 * time.Millisecond))
	id := c.send(t, 0, "survive a node")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tp.WaitCount(ctx, n/3); err != nil {
		t.Fatalf("waiting for a third of the sends: %v (%d so far)", err, tp.Count())
	}
	victim := c.nodes[1]
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	atKill := tp.Count()
	tp.RecoverAll()

	m := waitDone(t, &server{URL: c.nodes[2].URL}, c.app.APIKey, id, 5*time.Minute)
	// The message can be done while the dead node's last jobs still show
	// as running: it may have recorded their outcomes and died before
	// River recorded the jobs complete. They are rescued after
	// --rescue-after, find nothing left to send, and complete.
	c.waitJobsSettled(t, 2*time.Minute)
	missing, extra := tally(tp, subs)
	byNode, rescued := c.batchesByNode(t)
	t.Logf("killed a node after %d of %d pushes; targeted %d, sent %d; batches by the node that finished them %v, %d of them taken over from the dead node; recipients missing %d, duplicate deliveries %d",
		atKill, n, m.Targeted, m.Sent, byNode, rescued, missing, extra)
	if missing > 0 {
		t.Fatalf("%d recipients never got the message", missing)
	}
	if m.Targeted != n || m.Sent != n {
		t.Errorf("counters: targeted %d, sent %d; want %d each", m.Targeted, m.Sent, n)
	}
	// In flight on the dead node: up to 4 batches × (64 sends + 100
	// outcomes waiting to be written + 64 finishing during a write).
	if extra > 4*(64+100+64) {
		t.Errorf("%d duplicates: more than the dead node had in flight", extra)
	}
	if rescued == 0 {
		t.Errorf("no batch was taken over from the dead node (batches by node: %v)", byNode)
	}
}

// TestNodeWithAnotherMasterKeyRefuses starts a node whose master key is
// not the one the cluster's apps were sealed with: it must refuse to
// start, naming the variable, rather than fail every Web Push batch it
// would work.
func TestNodeWithAnotherMasterKeyRefuses(t *testing.T) {
	c := newCluster(t)
	bin, err := buildPlainHerald()
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--store", c.pg)
	cmd.Env = append(os.Environ(), "HERALD_MASTER_KEY="+base64.StdEncoding.EncodeToString(other))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HERALD_MASTER_KEY") || !strings.Contains(string(out), c.app.ID) {
		t.Errorf("node with another master key: %v\n%s", err, out)
	}
	// With the cluster's key the same node starts.
	c.start(t, 1)
}

// TestImportExportOnPostgres runs `herald import` and `herald export`
// against the shared store (--store), as an operator moving to several
// nodes would: the file imports, a second run changes nothing, and the
// export imports back as a no-op.
func TestImportExportOnPostgres(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	file := writeMigrationCSV(t, dir, 3000)
	env := map[string]string{"HERALD_MASTER_KEY": c.master, "HERALD_STORE": c.pg}
	data := "--data=" + filepath.Join(dir, "data")
	s, _ := importJSON(t, env, "--app", c.app.ID, data, "--allow-endpoint=127.0.0.1", file)
	if s.Read != 3000 || s.Created != 3000 || s.Bad != 0 {
		t.Fatalf("import: %+v", s)
	}
	s, _ = importJSON(t, env, "--app", c.app.ID, data, "--allow-endpoint=127.0.0.1", file)
	if s.Unchanged != 3000 || s.Created+s.Updated != 0 {
		t.Errorf("import again: %+v", s)
	}
	out := filepath.Join(dir, "export.csv")
	herald(t, env, "export", "--app", c.app.ID, data, out)
	s, _ = importJSON(t, env, "--app", c.app.ID, data, "--allow-endpoint=127.0.0.1", out)
	if s.Unchanged != 3000 || s.Created+s.Updated+s.Bad != 0 {
		t.Errorf("import of the export: %+v", s)
	}
}

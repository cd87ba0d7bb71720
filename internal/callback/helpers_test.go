package callback

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// rig is a real SQLite store with one app, the settings service and a
// clock the test moves.
type rig struct {
	st  *sqlite.Store
	svc *Service
	app string
	msg store.Message
	mu  sync.Mutex
	now time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, app: "app_cb", now: time.Now().Add(time.Minute)} // ahead of the events the test makes
	r.svc = NewService(st, sealer, r.clock)
	if err := st.CreateApp(t.Context(), store.App{ID: r.app, Name: "cb", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.msg, _, err = st.CreateMessage(t.Context(), store.Message{AppID: r.app, State: store.StateQueued, Content: []byte(`{}`),
		SendAt: time.Now(), CreatedAt: time.Now(), RequestID: "req-9", CustomArgs: []byte(`{"k":"v"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

// events adds n received events (one per registration).
func (r *rig) events(t *testing.T, n int, from int) {
	t.Helper()
	for i := range n {
		reg := "reg-" + string(rune('a'+(from+i)/26)) + string(rune('a'+(from+i)%26))
		if _, err := r.st.RecordEngagement(t.Context(), r.app, r.msg.ID, reg, store.EngagementReceived, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rig) drainer(c *http.Client, o Options) (*Drainer, *countObserver) {
	obs := &countObserver{}
	o.Client, o.Observer, o.Now = c, obs, r.clock
	return NewDrainer(r.st, r.svc, slog.New(slog.NewTextHandler(io.Discard, nil)), o), obs
}

func (r *rig) pending(t *testing.T) []store.CallbackEvent {
	t.Helper()
	evs, err := r.st.DueCallbackEvents(t.Context(), r.app, time.Now().Add(100*time.Hour), 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

type countObserver struct {
	mu                                 sync.Mutex
	delivered, failed, retried         int
	deferred, givenUp, deliveredEvents int
}

func (o *countObserver) CallbackBatch(ok, retry bool, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ok {
		o.delivered++
		o.deliveredEvents += n
	} else {
		o.failed++
	}
	if retry {
		o.retried++
	}
}
func (o *countObserver) CallbackEventsDeferred(n int) { o.mu.Lock(); o.deferred += n; o.mu.Unlock() }
func (o *countObserver) CallbackEventsGivenUp(n int)  { o.mu.Lock(); o.givenUp += n; o.mu.Unlock() }

// receiver is a callback endpoint that verifies each request and answers
// with the status the test sets.
type receiver struct {
	*httptest.Server
	key        []byte
	mu         sync.Mutex
	status     int
	retryAfter string
	batches    []Batch
	bad        []string // verification failures
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := Verify(rc.key, r.Header.Get(SignatureHeader), body, time.Now(), time.Hour); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.bad = append(rc.bad, "content type "+ct)
	}
	var b Batch
	if err := json.Unmarshal(body, &b); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	if rc.status == http.StatusOK {
		rc.batches = append(rc.batches, b)
	}
	if rc.retryAfter != "" {
		w.Header().Set("Retry-After", rc.retryAfter)
	}
	w.WriteHeader(rc.status)
}

func (rc *receiver) set(status int, retryAfter string) {
	rc.mu.Lock()
	rc.status, rc.retryAfter = status, retryAfter
	rc.mu.Unlock()
}

func (rc *receiver) got() ([]Batch, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Batch(nil), rc.batches...), append([]string(nil), rc.bad...)
}

// setup points the rig's app at rc and gives rc the secret.
func (r *rig) setup(t *testing.T, rc *receiver) {
	t.Helper()
	_, sec, err := r.svc.Set(context.Background(), r.app, rc.URL+"/hook?token=t0ps3cret", false)
	if err != nil || sec == "" {
		t.Fatalf("Set: secret %q, %v", sec, err)
	}
	rc.key = []byte(sec)
}

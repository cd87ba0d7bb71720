package firefox

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	//go:embed testdata/page.html
	pageHTML []byte
	//go:embed testdata/sw.js
	serviceWorkerJS []byte
)

// maxReport bounds what the page may post back.
const maxReport = 64 << 10

// pageServer serves the test page and its service worker on 127.0.0.1
// (loopback is a secure context, so the page may use push) and collects
// what they post back. Its handlers never block: what a full channel
// cannot take is still in the progress log.
type pageServer struct {
	*httptest.Server
	subscriptions chan string // the PushSubscription JSON
	pushes        chan string // {"payload":"<decrypted text>","notifications":[titles]}
	errs          chan string // what failed in the page or the service worker

	mu       sync.Mutex
	progress []string
	start    time.Time
}

// pageConfig is GET /config: what the page needs to subscribe.
type pageConfig struct {
	// Stats is testpush's stats URL; the page waits on its browser_hellos.
	Stats string `json:"stats"`
	// VAPIDPublicKey is the app's key, the applicationServerKey.
	VAPIDPublicKey string `json:"vapid_public_key"`
}

func newPageServer(t *testing.T, cfg pageConfig) *pageServer {
	p := &pageServer{
		subscriptions: make(chan string, 1),
		pushes:        make(chan string, 8),
		errs:          make(chan string, 8),
		start:         time.Now(),
	}
	serve := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
		}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serve("text/html; charset=utf-8", pageHTML))
	mux.HandleFunc("GET /sw.js", serve("text/javascript", serviceWorkerJS))
	mux.HandleFunc("GET /config", serve("application/json", cfgJSON))
	mux.HandleFunc("POST /progress", p.collect("", nil))
	mux.HandleFunc("POST /subscription", p.collect("subscription: ", p.subscriptions))
	mux.HandleFunc("POST /push", p.collect("push: ", p.pushes))
	mux.HandleFunc("POST /error", p.collect("error: ", p.errs))
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// collect logs each body under prefix and hands it to ch, if any.
func (p *pageServer) collect(prefix string, ch chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReport))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.log(prefix + string(b))
		if ch != nil {
			select {
			case ch <- string(b):
			default:
				p.log("(the test was not listening for that)")
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (p *pageServer) log(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress = append(p.progress, time.Since(p.start).Round(time.Millisecond).String()+" "+s)
}

// report is everything the page and service worker said, in order.
func (p *pageServer) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.progress) == 0 {
		return "(nothing: the page never ran)"
	}
	return strings.Join(p.progress, "\n")
}

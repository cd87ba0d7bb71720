package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/bench"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/testpush"
)

// benchAPI is `herald bench api`: it runs a real herald serve (this
// binary's, in-process, on 127.0.0.1 and a temporary data directory) and
// measures, one workload after another, accepted requests per second and
// their latency: registrations through /v1/subscribers and the guide's
// /api/subscription, and sends through /v1/messages and EngageLab's
// /v4/push spread over several apps, each message to one testpush
// subscriber so the fanout works while the API is measured.
func benchAPI(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench api", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	nApps := fs.Int("apps", 4, "apps the sends are spread over (EngageLab allows 500 sends/s per app)")
	clients := fs.Int("clients", 16, "requests in flight at once")
	secs := fs.Float64("seconds", 5, "length of each workload")
	only := fs.String("only", "", "run one workload: register_v1, register_guide, send_v1 or push_v4")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench api: unexpected argument %q", fs.Arg(0))}
	}
	if *nApps < 1 || *clients < 1 || *secs <= 0 {
		return usageError{"bench api: --apps and --clients must be at least 1 and --seconds above 0"}
	}
	switch *only {
	case "", "register_v1", "register_guide", "send_v1", "push_v4":
	default:
		return usageError{fmt.Sprintf("bench api: --only %q: want register_v1, register_guide, send_v1 or push_v4", *only)}
	}
	r := bench.APIResult{Kind: "api", Apps: *nApps, StartedAt: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	rig, err := startAPIRig(ctx, *nApps, env)
	if err != nil {
		return err
	}
	defer rig.close()
	r.LoadAvg = bench.LoadAvgNow()

	d := time.Duration(*secs * float64(time.Second))
	var sent int64
	var firstSend time.Time
	for _, w := range rig.workloads() {
		if *only != "" && w.name != *only {
			continue
		}
		if w.sends && firstSend.IsZero() {
			firstSend = time.Now()
		}
		fmt.Fprintf(env.Stderr, "bench api: %s for %v with %d clients…\n", w.name, d, *clients)
		res := bench.Load(ctx, bench.LoadOptions{Name: w.name, Concurrency: *clients, Duration: d, Do: w.do})
		r.Workloads = append(r.Workloads, res)
		if w.sends {
			sent += res.Accepted
		}
	}
	lastSend := time.Now()
	r.MessagesSent = sent
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = rig.tp.WaitCount(wctx, int(sent))
	cancel()
	r.MessagesDone = int64(rig.tp.Count())
	r.FanoutDoneSeconds = float64(time.Since(lastSend).Round(10*time.Millisecond)) / float64(time.Second)
	if !firstSend.IsZero() {
		r.MessagesPerSecond = float64(r.MessagesDone) / time.Since(firstSend).Seconds()
	}
	if perr := report(env, bf, "api", r, r.StartedAt, r.WriteTable); perr != nil {
		return errors.Join(err, perr)
	}
	if err != nil {
		for _, m := range rig.unfinished(ctx, 10) {
			fmt.Fprintf(env.Stderr, "bench api: unfinished message %s\n", m)
		}
		return fmt.Errorf("bench api: %d of %d sent messages reached testpush: %w", r.MessagesDone, sent, err)
	}
	return nil
}

// unfinished lists up to n messages, of all apps, that are not done, as
// their JSON, to say where a send that never arrived got stuck.
func (rig *apiRig) unfinished(ctx context.Context, n int) []string {
	var out []string
	for _, a := range rig.apps {
		cursor := ""
		for len(out) < n {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.base+"/v1/messages?cursor="+cursor, nil)
			req.Header.Set("Authorization", "Bearer "+a.key)
			resp, err := rig.http.Do(req)
			if err != nil {
				return append(out, err.Error())
			}
			var page struct {
				Messages   []map[string]any `json:"messages"`
				NextCursor string           `json:"next_cursor"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				return append(out, err.Error())
			}
			for _, m := range page.Messages {
				if m["state"] != "done" && len(out) < n {
					b, _ := json.Marshal(m)
					out = append(out, string(b))
				}
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	return out
}

// apiRig is a herald serve with apps, each with one testpush subscriber.
type apiRig struct {
	base  string
	tp    *testpush.Server
	apps  []benchApp
	http  *http.Client
	keys  map[string]string // a valid p256dh and auth for registrations
	stop  func()
	clean func()
}

type benchApp struct {
	id, key, elKey, elSecret, rid string
}

func startAPIRig(ctx context.Context, n int, env Env) (_ *apiRig, err error) {
	dir, err := os.MkdirTemp("", "herald-bench-api-")
	if err != nil {
		return nil, fmt.Errorf("bench api: %w", err)
	}
	rig := &apiRig{clean: func() { os.RemoveAll(dir) }, stop: func() {},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}}
	defer func() {
		if err != nil {
			rig.close()
		}
	}()
	getenv := benchGetenv(env)
	if err := rig.createApps(ctx, dir, n, getenv); err != nil {
		return nil, err
	}
	if rig.tp, err = testpush.Start(testpush.Options{Verify: testpush.VerifySample}); err != nil {
		return nil, err
	}
	if rig.base, rig.stop, err = serveInProcess(ctx, dir, env.Stderr, getenv); err != nil {
		return nil, err
	}
	for i := range rig.apps {
		s, err := rig.tp.NewSubscription()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			rig.keys = map[string]string{"p256dh": s.Keys.P256DH, "auth": s.Keys.Auth}
		}
		var out struct {
			RegistrationID string `json:"registration_id"`
		}
		if err := rig.post(ctx, "/v1/subscribers", "Bearer "+rig.apps[i].key, map[string]any{"type": "webpush", "subscription": s}, &out); err != nil {
			return nil, err
		}
		rig.apps[i].rid = out.RegistrationID
	}
	return rig, nil
}

// serveInProcess runs herald serve on dir and 127.0.0.1:0 in this process
// until stop is called, with extra serve flags, and returns its base URL.
func serveInProcess(ctx context.Context, dir string, logs io.Writer, getenv func(string) string, extra ...string) (base string, stop func(), err error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	addr := make(chan string, 1)
	done := make(chan error, 1)
	args := append([]string{"--data", dir, "--addr", "127.0.0.1:0", "--allow-endpoint", "127.0.0.1", "--log-level", "error"}, extra...)
	go func() {
		done <- runServe(sctx, args, Env{Getenv: getenv, Stdout: io.Discard, Stderr: logs, Listening: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		return "http://" + a, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("bench: herald serve: %w", err)
	}
}

// benchGetenv is the environment of a bench's herald serve: the caller's,
// without a master key, so the temporary data directory gets its own.
func benchGetenv(env Env) func(string) string {
	return func(k string) string {
		if k == "HERALD_MASTER_KEY" || k == "HERALD_MASTER_KEY_FILE" {
			return ""
		}
		return env.Getenv(k)
	}
}

// createApps makes n apps in the data directory before the server starts.
func (rig *apiRig) createApps(ctx context.Context, dir string, n int, getenv func(string) string) error {
	master, err := secret.LoadMasterKey(getenv, dir)
	if err != nil {
		return err
	}
	sealer, err := secret.NewSealer(master)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, dir, "")
	if err != nil {
		return err
	}
	defer st.Close()
	svc := apps.New(st, sealer, time.Now)
	for i := range n {
		c, err := svc.Create(ctx, fmt.Sprintf("bench %d", i))
		if err != nil {
			return err
		}
		rig.apps = append(rig.apps, benchApp{id: c.ID, key: c.APIKey, elKey: c.EngageLab.AppKey, elSecret: c.EngageLab.MasterSecret})
	}
	return nil
}

func (rig *apiRig) close() {
	rig.stop()
	if rig.tp != nil {
		rig.tp.Close()
	}
	rig.clean()
}

type apiWorkload struct {
	name  string
	sends bool // each accepted request is a message to one subscriber
	do    func(ctx context.Context, w, i int) error
}

func (rig *apiRig) workloads() []apiWorkload {
	endpoint := func(kind string, i int) string { return fmt.Sprintf("http://127.0.0.1:1/bench/%s/%d", kind, i) }
	return []apiWorkload{
		{"register_v1", false, func(ctx context.Context, _, i int) error {
			a := rig.apps[i%len(rig.apps)]
			return rig.post(ctx, "/v1/subscribers", "Bearer "+a.key, map[string]any{"type": "webpush", "tags": []string{"bench"},
				"subscription": map[string]any{"endpoint": endpoint("v1", i), "keys": rig.keys}}, nil)
		}},
		{"register_guide", false, func(ctx context.Context, _, i int) error {
			a := rig.apps[i%len(rig.apps)]
			return rig.post(ctx, "/api/subscription?app="+a.id, "", map[string]any{"endpoint": endpoint("guide", i), "keys": rig.keys}, nil)
		}},
		{"send_v1", true, func(ctx context.Context, _, i int) error {
			a := rig.apps[i%len(rig.apps)]
			return rig.post(ctx, "/v1/messages", "Bearer "+a.key, map[string]any{"to": map[string]any{"registration_ids": []string{a.rid}},
				"content": map[string]any{"title": "Bench", "body": fmt.Sprintf("message %d", i)}}, nil)
		}},
		{"push_v4", true, func(ctx context.Context, _, i int) error {
			a := rig.apps[i%len(rig.apps)]
			req := map[string]any{"from": "push", "to": map[string]any{"registration_id": []string{a.rid}},
				"body":       map[string]any{"platform": "web", "notification": map[string]any{"web": map[string]any{"alert": fmt.Sprintf("message %d", i), "title": "Bench", "url": "https://shop.example/bench"}}},
				"request_id": fmt.Sprint(i)}
			return rig.post(ctx, "/v4/push", basicAuth(a.elKey, a.elSecret), req, nil)
		}},
	}
}

// post sends body as JSON; a 2xx answer is success (decoded into out if
// set), 429 is bench.ErrLimited, anything else an error with the answer.
func (rig *apiRig) post(ctx context.Context, path, auth string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rig.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := rig.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return err
	case resp.StatusCode == http.StatusTooManyRequests:
		return bench.ErrLimited
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("POST %s: %s: %.200s", path, resp.Status, raw)
	case out != nil:
		return json.Unmarshal(raw, out)
	}
	return nil
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

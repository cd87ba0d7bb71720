package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/heraldpush/herald/internal/apns/apnstest"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/bench"
	"github.com/heraldpush/herald/internal/fcm/fcmtest"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
)

// channelResult is what `herald bench fcm|apns` measured.
type channelResult struct {
	Kind        string    `json:"kind"` // "fcm" or "apns"
	Subscribers int       `json:"subscribers"`
	Delivered   int       `json:"delivered"` // accepted by the fake
	Seconds     float64   `json:"seconds"`   // message accepted → message done
	PerSecond   float64   `json:"per_second"`
	FirstMs     float64   `json:"first_push_ms"` // message accepted → first accepted by the fake
	Sent        int64     `json:"sent"`          // the message's own counters
	Failed      int64     `json:"failed"`
	OK          bool      `json:"ok"` // every token got it, and the counters agree
	StartedAt   time.Time `json:"started_at"`
	CPUs        int       `json:"cpus"`
	LoadAvg     string    `json:"load_avg"`
	SetupSecs   float64   `json:"setup_seconds"`
}

func (r channelResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "herald bench %s\t%d tokens through the local fake, %d CPUs, load %s\n", r.Kind, r.Subscribers, r.CPUs, r.LoadAvg)
	fmt.Fprintf(tw, "delivered\t%d (message counters: %d sent, %d failed); ok %v\n", r.Delivered, r.Sent, r.Failed, r.OK)
	fmt.Fprintf(tw, "time\t%.2f s accepted → done, first push after %.1f ms (setup %.1f s untimed)\n", r.Seconds, r.FirstMs, r.SetupSecs)
	fmt.Fprintf(tw, "rate\t%.0f pushes/s\n", r.PerSecond)
	return tw.Flush()
}

// benchChannel is `herald bench fcm` and `herald bench apns`: N tokens of
// one app, one message to all of them through a real herald serve
// (in-process) and the FCM or APNs fake, which checks every request's
// OAuth2 bearer token or provider JWT.
func benchChannel(ctx context.Context, kind string, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench "+kind, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	n := fs.Int("subscribers", 0, "tokens the message goes to (required)")
	timeout := fs.Duration("timeout", 30*time.Minute, "longest the send may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench %s: unexpected argument %q", kind, fs.Arg(0))}
	}
	if *n <= 0 {
		return usageError{fmt.Sprintf("bench %s: --subscribers N is required", kind)}
	}
	r := channelResult{Kind: kind, Subscribers: *n, StartedAt: time.Now().UTC(), CPUs: runtime.NumCPU()}
	dir, err := os.MkdirTemp("", "herald-bench-"+kind+"-")
	if err != nil {
		return fmt.Errorf("bench %s: %w", kind, err)
	}
	defer os.RemoveAll(dir)
	setup := time.Now()
	fake, closeFake, serveArgs, creds, err := startChannelFake(kind, dir)
	if err != nil {
		return err
	}
	defer closeFake()
	getenv := benchGetenv(env)
	key, err := channelApp(ctx, dir, kind, *n, creds, getenv, env.Stderr)
	if err != nil {
		return err
	}
	base, stop, err := serveInProcess(ctx, dir, env.Stderr, getenv, serveArgs...)
	if err != nil {
		return err
	}
	defer stop()
	r.SetupSecs = round2(time.Since(setup).Seconds())
	r.LoadAvg = bench.LoadAvgNow()

	c := &client{base: base, key: key, http: &http.Client{Timeout: 30 * time.Second}}
	body, _ := json.Marshal(map[string]any{"to": "all", "content": map[string]any{"title": "Your order has shipped",
		"body": "Order #48213 left our warehouse this morning.", "url": "https://shop.example.com/orders/48213"}})
	start := time.Now()
	var accepted struct {
		ID string `json:"id"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/messages", body, &accepted); err != nil {
		return fmt.Errorf("bench %s: send: %w", kind, err)
	}
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	first := make(chan time.Duration, 1)
	go func() {
		if fake.WaitCount(wctx, 1) == nil {
			first <- time.Since(start)
		}
		close(first)
	}()
	var m progressView
	for !m.finished() {
		if _, err := c.call(wctx, http.MethodGet, "/v1/messages/"+accepted.ID, nil, &m); err != nil {
			return fmt.Errorf("bench %s: message %s: %w", kind, accepted.ID, err)
		}
		if !m.finished() {
			time.Sleep(20 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	r.Seconds = round2(elapsed.Seconds())
	r.PerSecond = float64(int64(float64(*n) / elapsed.Seconds()))
	if d, ok := <-first; ok {
		r.FirstMs = float64(d.Microseconds()) / 1000
	}
	r.Delivered, r.Sent, r.Failed = fake.Count(), m.Sent, m.Failed
	r.OK = r.Delivered == *n && m.Sent == int64(*n)
	if err := report(env, bf, kind, r, r.StartedAt, r.WriteTable); err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("bench %s: %d of %d tokens got the message (counters: %d sent, %d failed)", kind, r.Delivered, *n, m.Sent, m.Failed)
	}
	return nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// countingFake is what the bench needs of fcmtest and apnstest.
type countingFake interface {
	Count() int
	WaitCount(ctx context.Context, n int) error
}

// channelCreds set the fake's credentials on the bench app.
type channelCreds func(ctx context.Context, ch *apps.Channels, appID string) error

// startChannelFake starts the fake of kind and returns the serve flags
// that point Herald at it, and how to give the app its credentials.
func startChannelFake(kind, dir string) (countingFake, func(), []string, channelCreds, error) {
	switch kind {
	case "fcm":
		fc, err := fcmtest.Start(fcmtest.Options{})
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return fc, func() { fc.Close() }, []string{"--fcm-url", fc.URL()}, func(ctx context.Context, ch *apps.Channels, appID string) error {
			_, err := ch.SetFCM(ctx, appID, fc.ServiceAccount())
			return err
		}, nil
	case "apns":
		ap := apnstest.Start(apnstest.Options{})
		const team, keyID, topic = "TEAM123456", "KEY1234567", "com.example.bench"
		key, err := ap.NewKey(team, keyID, topic)
		if err != nil {
			ap.Close()
			return nil, nil, nil, nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			ap.Close()
			return nil, nil, nil, nil, err
		}
		caFile := filepath.Join(dir, "apns-ca.pem")
		if err := os.WriteFile(caFile, ap.CertificatePEM(), 0o600); err != nil {
			ap.Close()
			return nil, nil, nil, nil, err
		}
		p8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		return ap, ap.Close, []string{"--apns-url", ap.URL(), "--ca-file", caFile}, func(ctx context.Context, ch *apps.Channels, appID string) error {
			_, err := ch.SetAPNs(ctx, appID, apps.APNsKey{P8: p8, KeyID: keyID, TeamID: team, Topic: topic})
			return err
		}, nil
	}
	return nil, nil, nil, nil, usageError{fmt.Sprintf("bench: unknown channel %q", kind)}
}

// channelApp makes the bench app with the fake's credentials and n tokens
// of its channel, written through the store's bulk upsert, and returns
// the app's API key.
func channelApp(ctx context.Context, dir, kind string, n int, creds channelCreds, getenv func(string) string, progress io.Writer) (string, error) {
	master, err := secret.LoadMasterKey(getenv, dir)
	if err != nil {
		return "", err
	}
	sealer, err := secret.NewSealer(master)
	if err != nil {
		return "", err
	}
	st, err := openStore(ctx, dir, "")
	if err != nil {
		return "", err
	}
	defer st.Close()
	svc := apps.New(st, sealer, time.Now)
	a, err := svc.Create(ctx, "bench "+kind)
	if err != nil {
		return "", err
	}
	if err := creds(ctx, apps.NewChannels(svc, st), a.ID); err != nil {
		return "", fmt.Errorf("bench %s: credentials: %w", kind, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rows := make([]store.Subscriber, 0, 1000)
	for done := 0; done < n; {
		rows = rows[:0]
		for i := done; i < min(done+1000, n); i++ {
			token := fmt.Sprintf("bench-fcm-token-%012d", i)
			if kind == "apns" {
				token = fmt.Sprintf("%064x", i)
			}
			rows = append(rows, store.Subscriber{AppID: a.ID, RegistrationID: "r_bench_" + strconv.Itoa(i), Channel: store.Channel(kind),
				Token: token, CreatedAt: now, UpdatedAt: now, LastActiveAt: now})
		}
		if _, _, err := st.UpsertSubscribers(ctx, rows); err != nil {
			return "", fmt.Errorf("bench %s: insert tokens: %w", kind, err)
		}
		done += len(rows)
	}
	fmt.Fprintf(progress, "bench %s: %d tokens in the store\n", kind, n)
	return a.APIKey, nil
}

package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
	"github.com/heraldpush/herald/internal/testpush"
)

// stopGrace is how long closing a run lets in-flight batches finish.
const stopGrace = 30 * time.Second

// herald is the server side of a run: the pieces internal/cli/serve.go
// wires for `herald serve`, built the same way (the SQLite store in a data
// directory, apps, delivery.NewWebPush, delivery.New with SingleNode,
// send.New), without the HTTP listener. Keep it in step with serve.go.
type herald struct {
	st     *sqlite.Store
	apps   *apps.Service
	wp     *delivery.WebPush
	engine *delivery.Engine
	send   *send.Service
}

// startHerald opens the store in dir and starts the delivery engine,
// trusting tp's certificate and speaking HTTP/1.1 or HTTP/2 (httpVersion).
func startHerald(ctx context.Context, dir string, tp *testpush.Server, httpVersion int, log *slog.Logger) (_ *herald, err error) {
	master := make([]byte, 32)
	rand.Read(master)
	sealer, err := secret.NewSealer(master)
	if err != nil {
		return nil, err
	}
	policy, err := egress.New([]string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "herald.db"), sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: open store: %w", err)
	}
	h := &herald{st: st, apps: apps.New(st, sealer, time.Now)}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.close())
		}
	}()
	var protos http.Protocols
	switch httpVersion {
	case 1:
		protos.SetHTTP1(true)
	case 2:
		protos.SetHTTP2(true)
	default:
		return nil, fmt.Errorf("bench: HTTP version %d: want 1 or 2", httpVersion)
	}
	h.wp = delivery.NewWebPush(h.apps, policy, delivery.WebPushOptions{
		TLS:       &tls.Config{RootCAs: tp.CertPool(), MinVersion: tls.VersionTLS12},
		Protocols: &protos,
	}, time.Now)
	drainer := callback.NewDrainer(st, callback.NewService(st, sealer, time.Now), log, callback.Options{})
	h.engine, err = delivery.New(ctx, st, st.DB(), riversqlite.New(st.DB()),
		map[store.Channel]delivery.Pusher{store.ChannelWebPush: h.wp}, log,
		delivery.Options{SingleNode: true, Jobs: []delivery.JobSet{drainer}})
	if err != nil {
		return nil, err
	}
	// As in serve: the engine stops when told to, not when ctx ends.
	if err := h.engine.Start(context.WithoutCancel(ctx)); err != nil {
		h.engine = nil
		return nil, err
	}
	h.send = send.New(h.engine, time.Now)
	return h, nil
}

// close stops the engine (letting running batches finish for stopGrace)
// and closes the store.
func (h *herald) close() error {
	var errs []error
	if h.engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		errs = append(errs, h.engine.Stop(ctx))
		cancel()
	}
	if h.wp != nil {
		h.wp.Close()
	}
	errs = append(errs, h.st.Close())
	return errors.Join(errs...)
}

// populate creates an app and n testpush subscriptions, inserts them in
// batches of insertBatch (each batch sharing one receiver key) and returns
// the app id and the subscriptions' ids. progress, if set, is called after
// each batch with how many are in.
func (h *herald) populate(ctx context.Context, tp *testpush.Server, name string, n int, progress func(done int)) (string, *idSet, error) {
	app, err := h.apps.Create(ctx, name)
	if err != nil {
		return "", nil, err
	}
	ids := &idSet{}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rows := make([]store.Subscriber, 0, insertBatch)
	for done := 0; done < n; {
		subs, err := tp.NewSubscriptions(min(insertBatch, n-done))
		if err != nil {
			return "", nil, err
		}
		wps, err := subs[0].WebPush() // one key pair per batch
		if err != nil {
			return "", nil, err
		}
		rows = rows[:0]
		for _, s := range subs {
			rows = append(rows, store.Subscriber{
				AppID: app.ID, RegistrationID: "r_" + secret.Token("", 16), Channel: store.ChannelWebPush,
				Token: s.Endpoint, P256DH: wps.Keys.P256DH, Auth: wps.Keys.Auth,
				CreatedAt: now, UpdatedAt: now, LastActiveAt: now,
			})
		}
		if _, _, err := h.st.UpsertSubscribers(ctx, rows); err != nil {
			return "", nil, fmt.Errorf("bench: insert subscribers: %w", err)
		}
		ids.add(subs)
		done += len(subs)
		if progress != nil {
			progress(done)
		}
	}
	return app.ID, ids, nil
}

// insertBatch is how many subscribers one UpsertSubscribers call writes.
const insertBatch = 1000

package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres"
	"github.com/heraldpush/herald/internal/store/sqlite"
	"github.com/heraldpush/herald/internal/testpush"
)

// stopGrace is how long closing a run lets in-flight batches finish.
const stopGrace = 30 * time.Second

// herald is the server side of a run: the pieces internal/cli/serve.go
// wires for `herald serve`, built the same way (the store, apps,
// delivery.NewWebPush, delivery.New, send.New), without the HTTP listener.
// Keep it in step with serve.go.
//
// On SQLite (storeURL "") there is one node, with SingleNode as serve sets
// it. On PostgreSQL there may be several: each node is what one
// `herald serve --store postgres://…` process holds (its own connection
// pool, River client and Web Push clients), all in this process and on
// one database, so that the run shows what several nodes share. The first
// node takes the send, as one node behind a load balancer would.
type herald struct {
	st    store.Store // the first node's store
	apps  *apps.Service
	send  *send.Service
	nodes []*node
	clock *probeClock // the probes' pushes, from every node's Pusher
}

// node is one engine with its own store connection.
type node struct {
	st     store.Store
	wp     *delivery.WebPush
	engine *delivery.Engine
}

// startHerald opens the store (SQLite in dir when storeURL is empty, else
// PostgreSQL) and starts nodes delivery engines on it, trusting tp's
// certificate and speaking HTTP/1.1 or HTTP/2 (httpVersion).
func startHerald(ctx context.Context, dir, storeURL string, nodes int, tp *testpush.Server, httpVersion int, log *slog.Logger) (_ *herald, err error) {
	if nodes < 1 || (storeURL == "" && nodes > 1) {
		return nil, fmt.Errorf("bench: %d nodes: want 1, or several on a postgres:// store", nodes)
	}
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
	var protos http.Protocols
	switch httpVersion {
	case 1:
		protos.SetHTTP1(true)
	case 2:
		protos.SetHTTP2(true)
	default:
		return nil, fmt.Errorf("bench: HTTP version %d: want 1 or 2", httpVersion)
	}
	h := &herald{clock: newProbeClock()}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.close())
		}
	}()
	for i := range nodes {
		n := &node{}
		h.nodes = append(h.nodes, n)
		var db *sql.DB
		var driver riverdriver.Driver[*sql.Tx]
		o := delivery.Options{}
		if storeURL == "" {
			st, err := sqlite.Open(ctx, filepath.Join(dir, "herald.db"), sqlite.Options{})
			if err != nil {
				return nil, fmt.Errorf("bench: open store: %w", err)
			}
			n.st, db, driver, o.SingleNode = st, st.DB(), riversqlite.New(st.DB()), true
		} else {
			st, err := postgres.Open(ctx, storeURL, postgres.Options{})
			if err != nil {
				return nil, fmt.Errorf("bench: open store: %w", err)
			}
			n.st, db, driver, o.MigrationLock = st, st.DB(), riverdatabasesql.New(st.DB()), st.LockMigrations
		}
		nodeApps := apps.New(n.st, sealer, time.Now)
		if i == 0 {
			h.st, h.apps = n.st, nodeApps
		}
		n.wp = delivery.NewWebPush(nodeApps, policy, delivery.WebPushOptions{
			TLS:       &tls.Config{RootCAs: tp.CertPool(), MinVersion: tls.VersionTLS12},
			Protocols: &protos,
		}, time.Now)
		o.Jobs = []delivery.JobSet{callback.NewDrainer(n.st, callback.NewService(n.st, sealer, time.Now), log, callback.Options{})}
		n.engine, err = delivery.New(ctx, n.st, db, driver,
			map[store.Channel]delivery.Pusher{store.ChannelWebPush: clockPusher{n.wp, h.clock}}, log, o)
		if err != nil {
			return nil, err
		}
		// As in serve: the engine stops when told to, not when ctx ends.
		if err := n.engine.Start(context.WithoutCancel(ctx)); err != nil {
			n.engine = nil
			return nil, err
		}
	}
	h.send = send.New(h.nodes[0].engine, time.Now)
	return h, nil
}

// close stops the engines (letting running batches finish for stopGrace)
// and closes the stores.
func (h *herald) close() error {
	var errs []error
	for _, n := range h.nodes {
		if n.engine != nil {
			ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
			errs = append(errs, n.engine.Stop(ctx))
			cancel()
		}
		if n.wp != nil {
			n.wp.Close()
		}
		if n.st != nil {
			errs = append(errs, n.st.Close())
		}
	}
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

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/heraldpush/herald/internal/admin"
	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apns"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/compat/engagelab"
	"github.com/heraldpush/herald/internal/compat/guide"
	"github.com/heraldpush/herald/internal/compat/najva"
	"github.com/heraldpush/herald/internal/compat/webtoapp"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/sdk"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/server"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/tracking"
)

func runServe(ctx context.Context, args []string, env Env) error {
	tuneGC(env.Getenv)
	c, err := config.LoadServe(args, env.Getenv, env.Stderr)
	if err != nil {
		return err
	}
	log := c.Logger(env.Stderr)
	adminPassword, err := admin.NewPassword(c.AdminPassword, c.Data)
	if err != nil {
		return err
	}
	policy, err := egress.New(c.AllowEndpoints)
	if err != nil {
		return err
	}
	master, err := secret.LoadMasterKey(env.Getenv, c.Data)
	if err != nil {
		return err
	}
	sealer, err := secret.NewSealer(master)
	if err != nil {
		return err
	}
	trackingKeys, err := tracking.DeriveKeys(master) // payload signatures and SDK device keys
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c.Data, c.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.singleNode {
		release, err := lockDataDir(c.Data)
		if err != nil {
			return err
		}
		defer release()
	}

	appSvc := apps.New(st, sealer, time.Now)
	if !st.singleNode {
		if err := checkSharedMasterKey(ctx, appSvc); err != nil {
			return err
		}
	}
	reg := registry.New(st, policy, time.Now)
	if c.DefaultApp != "" {
		if _, err := appSvc.App(ctx, c.DefaultApp); err != nil {
			return fmt.Errorf("default-app %s: %w", c.DefaultApp, err)
		}
	}
	met := metrics.New(st.db)
	tlsConf, err := c.TLSConfig()
	if err != nil {
		return err
	}
	channels := apps.NewChannels(appSvc, st)
	// Each transport gets its own copy: net/http and HTTP/2 set fields of
	// the config they are given.
	wp := delivery.NewWebPush(appSvc, policy, delivery.WebPushOptions{TLS: tlsConf.Clone()}, time.Now)
	defer wp.Close()
	fcmP := fcm.NewPusher(channels.FCMAccount, fcm.PusherOptions{Client: fcm.Options{BaseURL: c.FCMURL}})
	defer fcmP.Close()
	apnsP := apns.NewPusher(channels.APNsCredentials, apns.PusherOptions{Client: apns.Options{BaseURL: c.APNsURL, TLS: tlsConf.Clone()}})
	defer apnsP.Close()
	// Callback events are posted by jobs on the engine's River client, on
	// queues and workers of their own.
	callbacks := callback.NewService(st, sealer, time.Now)
	drainer := callback.NewDrainer(st, callbacks, log, callback.Options{
		Workers: c.CallbackWorkers, Timeout: c.CallbackTimeout, BackoffBase: c.CallbackRetry, Observer: met})
	engine, err := delivery.New(ctx, st, st.db, st.driver,
		map[store.Channel]delivery.Pusher{
			store.ChannelWebPush: wp,
			store.ChannelFCM:     delivery.FCM{P: fcmP},
			store.ChannelAPNs:    &delivery.APNs{P: apnsP},
		}, log,
		delivery.Options{SingleNode: st.singleNode, RescueAfter: c.RescueAfter, MigrationLock: st.migrationLock, Observer: met, Tracking: trackingKeys,
			Jobs: []delivery.JobSet{drainer}})
	if err != nil {
		return err
	}
	// The engine stops when told to (below), not when ctx is cancelled: a
	// signal first stops the listener, then lets running batches finish.
	if err := engine.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	sendSvc := send.New(engine, time.Now, send.WithSegments(st))
	h := server.Handler(log, st, met, met,
		api.New(api.Deps{Apps: appSvc, Channels: channels, Registry: reg, Send: sendSvc, Messages: st, Canceller: engine, Log: log, Callbacks: callbacks}),
		admin.New(admin.Deps{Apps: appSvc, Channels: channels, Registry: reg, Send: sendSvc, Store: st, Canceller: engine, Password: adminPassword, Log: log, Callbacks: callbacks}, admin.Options{}),
		guide.New(appSvc, reg, engine, c.DefaultApp, log),
		sdk.New(sdk.Deps{Apps: appSvc, Channels: channels, Registry: reg, Keys: trackingKeys, DefaultApp: c.DefaultApp, Log: log}),
		tracking.New(st, trackingKeys, c.DefaultApp, time.Now, log),
		engagelab.New(engagelab.Deps{Apps: appSvc, Send: sendSvc, Store: st, Registry: reg, Log: log}, engagelab.Options{}),
		webtoapp.New(appSvc, reg, sendSvc, log),
		najva.New(najva.Deps{Apps: appSvc, Send: sendSvc, Devices: reg, Segments: st, Log: log}, najva.Options{}),
	)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", c.Addr, err), stopEngine(engine, c.ShutdownTimeout))
	}
	log.Info("herald listening", "addr", ln.Addr().String(), "data", c.Data, "version", Version)
	if env.Listening != nil {
		env.Listening(ln.Addr().String())
	}
	serveErr := server.Serve(ctx, ln, h, log, c.ShutdownTimeout)
	return errors.Join(serveErr, stopEngine(engine, c.ShutdownTimeout))
}

// stopEngine lets running batches finish within grace, then cancels them;
// what they did not finish resumes on the next start.
func stopEngine(e *delivery.Engine, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return e.Stop(ctx)
}

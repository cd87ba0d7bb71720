package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/compat/guide"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/server"
)

func runServe(ctx context.Context, args []string, env Env) error {
	c, err := config.LoadServe(args, env.Getenv, env.Stderr)
	if err != nil {
		return err
	}
	log := c.Logger(env.Stderr)
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
	st, err := openStore(ctx, c.Data, c.Store)
	if err != nil {
		return err
	}
	defer st.Close()

	appSvc := apps.New(st, sealer, time.Now)
	reg := registry.New(st, policy, time.Now)
	if c.DefaultApp != "" {
		if _, err := appSvc.App(ctx, c.DefaultApp); err != nil {
			return fmt.Errorf("default-app %s: %w", c.DefaultApp, err)
		}
	}
	h := server.Handler(log, st,
		api.New(appSvc, reg, log),
		guide.New(appSvc, reg, c.DefaultApp, log),
	)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	log.Info("herald listening", "addr", ln.Addr().String(), "data", c.Data, "version", Version)
	if env.Listening != nil {
		env.Listening(ln.Addr().String())
	}
	return server.Serve(ctx, ln, h, log, c.ShutdownTimeout)
}

package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults, with their reasons.
const (
	// DefaultData is relative so that a first `herald serve` keeps its
	// state beside the user, where they will see it.
	DefaultData = "./herald-data"
	// DefaultAddr listens on loopback only: exposing Herald is a decision.
	DefaultAddr = "127.0.0.1:8080"
	// DefaultShutdownTimeout is how long in-flight requests get on SIGTERM.
	DefaultShutdownTimeout = 15 * time.Second
)

// Serve holds herald serve's settings.
type Serve struct {
	Data            string        // data directory (SQLite file, master key)
	Addr            string        // listen address
	Store           string        // "" or "sqlite" for the embedded store, or a postgres:// URL (several nodes)
	RescueAfter     time.Duration // several nodes: how long a job runs on one before another takes it over (0: 2m)
	AllowEndpoints  []string      // extra push-service hosts Herald may post to
	DefaultApp      string        // app used by the guide's endpoints when a request names none
	LogLevel        slog.Level    // debug, info, warn, error
	LogFormat       string        // text or json
	ShutdownTimeout time.Duration // grace period for in-flight requests
	FCMURL          string        // FCM API base URL (tests point it at a fake)
	APNsURL         string        // APNs base URL for both environments (tests)
	CAFile          string        // extra CA certificates (PEM) trusted for outbound TLS
	// AdminPassword is the operator's password for the admin UI at /admin.
	// Empty, the UI uses the hash `herald admin set-password` wrote into
	// Data, or stays locked if there is none.
	AdminPassword string
	// Callbacks tune how apps' callback (webhook) events are posted.
	CallbackWorkers int           // callback requests in flight at once, one app each
	CallbackTimeout time.Duration // deadline of one callback request
	CallbackRetry   time.Duration // delay after a failed callback request, doubled per failure
}

// SQLitePath is the embedded store's file inside the data directory.
func (c Serve) SQLitePath() string { return filepath.Join(c.Data, "herald.db") }

// Redacted returns the settings as name=value lines for `herald config`,
// with credentials in a store URL hidden.
func (c Serve) Redacted() []string {
	store := c.Store
	if i := strings.Index(store, "@"); i > 0 {
		if j := strings.Index(store, "://"); j > 0 && j < i {
			store = store[:j+3] + "REDACTED" + store[i:]
		}
	}
	return []string{
		"data=" + c.Data,
		"addr=" + c.Addr,
		"store=" + store,
		"allow-endpoint=" + strings.Join(c.AllowEndpoints, ","),
		"default-app=" + c.DefaultApp,
		"log-level=" + c.LogLevel.String(),
		"log-format=" + c.LogFormat,
		"shutdown-timeout=" + c.ShutdownTimeout.String(),
		"rescue-after=" + c.RescueAfter.String(),
		"fcm-url=" + c.FCMURL,
		"apns-url=" + c.APNsURL,
		"ca-file=" + c.CAFile,
		"admin-password=" + redact(c.AdminPassword),
		"callback-workers=" + strconv.Itoa(c.CallbackWorkers),
		"callback-timeout=" + c.CallbackTimeout.String(),
		"callback-retry=" + c.CallbackRetry.String(),
	}
}

// redact hides a secret setting, saying only whether it is set.
func redact(v string) string {
	if v == "" {
		return ""
	}
	return "REDACTED"
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// LoadServe parses herald serve's arguments. output receives usage text.
func LoadServe(args []string, getenv func(string) string, output io.Writer) (Serve, error) {
	fs := flag.NewFlagSet("herald serve", flag.ContinueOnError)
	fs.SetOutput(output)
	var c Serve
	var allow listFlag
	var level string
	fs.StringVar(&c.Data, "data", DefaultData, "data directory: the SQLite store and the master key (env HERALD_DATA)")
	fs.StringVar(&c.Addr, "addr", DefaultAddr, "address to listen on (env HERALD_ADDR)")
	fs.StringVar(&c.Store, "store", "", "store: empty for the embedded SQLite store in --data, or a postgres:// URL that several herald serve processes share (env HERALD_STORE)")
	fs.DurationVar(&c.RescueAfter, "rescue-after", 0, "several nodes: how long a job may run before another node takes it over, so how long a dead node's work waits; must exceed the longest batch; 0 for 2m (env HERALD_RESCUE_AFTER)")
	fs.Var(&allow, "allow-endpoint", "extra push-service host Herald may post to, plain http allowed; repeatable (env HERALD_ALLOW_ENDPOINTS, comma-separated)")
	fs.StringVar(&c.DefaultApp, "default-app", "", "app id the guide's /api/* endpoints use when a request names none (env HERALD_DEFAULT_APP)")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error (env HERALD_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json (env HERALD_LOG_FORMAT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "grace period for in-flight work on SIGTERM (env HERALD_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.FCMURL, "fcm-url", "https://fcm.googleapis.com", "FCM HTTP v1 API base URL (env HERALD_FCM_URL)")
	fs.StringVar(&c.APNsURL, "apns-url", "", "APNs base URL for both environments; empty for Apple's production and sandbox hosts (env HERALD_APNS_URL)")
	fs.StringVar(&c.CAFile, "ca-file", "", "PEM file of extra CA certificates trusted for outbound TLS (env HERALD_CA_FILE)")
	fs.StringVar(&c.AdminPassword, "admin-password", "", "operator password for the admin UI at /admin; visible to ps, so prefer env HERALD_ADMIN_PASSWORD or HERALD_ADMIN_PASSWORD_FILE; empty: the hash `herald admin set-password` wrote in --data")
	fs.IntVar(&c.CallbackWorkers, "callback-workers", 4, "callback (webhook) requests in flight at once, one app each; separate from delivery's workers (env HERALD_CALLBACK_WORKERS)")
	fs.DurationVar(&c.CallbackTimeout, "callback-timeout", 10*time.Second, "deadline of one callback request (env HERALD_CALLBACK_TIMEOUT)")
	fs.DurationVar(&c.CallbackRetry, "callback-retry", 5*time.Second, "delay after a failed callback request, doubled per failure up to an hour, 12 tries (env HERALD_CALLBACK_RETRY)")
	if err := fs.Parse(args); err != nil {
		return Serve{}, err
	}
	if fs.NArg() > 0 {
		return Serve{}, fmt.Errorf("herald serve: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	env := func(name, key string, dst *string) {
		if v := getenv(key); v != "" && !set[name] {
			*dst = v
		}
	}
	env("data", "HERALD_DATA", &c.Data)
	env("addr", "HERALD_ADDR", &c.Addr)
	env("store", "HERALD_STORE", &c.Store)
	env("default-app", "HERALD_DEFAULT_APP", &c.DefaultApp)
	env("log-level", "HERALD_LOG_LEVEL", &level)
	env("log-format", "HERALD_LOG_FORMAT", &c.LogFormat)
	env("fcm-url", "HERALD_FCM_URL", &c.FCMURL)
	env("apns-url", "HERALD_APNS_URL", &c.APNsURL)
	env("ca-file", "HERALD_CA_FILE", &c.CAFile)
	env("admin-password", "HERALD_ADMIN_PASSWORD", &c.AdminPassword)
	if p := getenv("HERALD_ADMIN_PASSWORD_FILE"); p != "" && c.AdminPassword == "" {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("HERALD_ADMIN_PASSWORD_FILE: %w", err))
		}
		c.AdminPassword = strings.TrimRight(string(b), "\r\n")
		if c.AdminPassword == "" && err == nil {
			errs = append(errs, fmt.Errorf("HERALD_ADMIN_PASSWORD_FILE: %s is empty", p))
		}
	}
	var err error
	for _, d := range []struct {
		name, key string
		dst       *time.Duration
	}{{"callback-timeout", "HERALD_CALLBACK_TIMEOUT", &c.CallbackTimeout}, {"callback-retry", "HERALD_CALLBACK_RETRY", &c.CallbackRetry}} {
		if v := getenv(d.key); v != "" && !set[d.name] {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", d.key, v))
			}
		}
	}
	if v := getenv("HERALD_CALLBACK_WORKERS"); v != "" && !set["callback-workers"] {
		if c.CallbackWorkers, err = strconv.Atoi(v); err != nil || c.CallbackWorkers <= 0 {
			errs = append(errs, fmt.Errorf("HERALD_CALLBACK_WORKERS: %q is not a positive number", v))
		}
	}
	if c.CallbackWorkers <= 0 || c.CallbackTimeout <= 0 || c.CallbackRetry <= 0 {
		errs = append(errs, errors.New("callback-workers, callback-timeout and callback-retry must be positive"))
	}
	if v := getenv("HERALD_RESCUE_AFTER"); v != "" && !set["rescue-after"] {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("HERALD_RESCUE_AFTER: %q is not a duration", v))
		}
		c.RescueAfter = d
	}
	if v := getenv("HERALD_SHUTDOWN_TIMEOUT"); v != "" && !set["shutdown-timeout"] {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("HERALD_SHUTDOWN_TIMEOUT: %q is not a duration", v))
		}
		c.ShutdownTimeout = d
	}
	c.AllowEndpoints = allow
	if v := getenv("HERALD_ALLOW_ENDPOINTS"); v != "" && !set["allow-endpoint"] {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.AllowEndpoints = append(c.AllowEndpoints, h)
			}
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log-level: %q is not debug, info, warn or error", level))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format: %q is not text or json", c.LogFormat))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %q is not host:port", c.Addr))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("data: must not be empty"))
	}
	if c.Store != "" && c.Store != "sqlite" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		errs = append(errs, errors.New("store: want empty (the embedded SQLite store in --data) or a postgres:// URL"))
	}
	for name, u := range map[string]string{"fcm-url": c.FCMURL, "apns-url": c.APNsURL} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, u))
		}
	}
	if c.RescueAfter < 0 {
		errs = append(errs, errors.New("rescue-after: must not be negative"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout: must be positive"))
	}
	return c, errors.Join(errs...)
}

// TLSConfig returns the client TLS config for outbound connections: the
// system roots plus CAFile's certificates, or nil when there is no CAFile.
func (c Serve) TLSConfig() (*tls.Config, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca-file: %s holds no PEM certificate", c.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Logger builds the logger the settings ask for.
func (c Serve) Logger(w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

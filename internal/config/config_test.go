package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := LoadServe(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != DefaultData || c.Addr != DefaultAddr || c.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	e := env(map[string]string{
		"HERALD_DATA": "/env/data", "HERALD_ADDR": "127.0.0.1:9", "HERALD_ALLOW_ENDPOINTS": "127.0.0.1, ::1",
		"HERALD_DEFAULT_APP": "app_env", "HERALD_SHUTDOWN_TIMEOUT": "3s",
	})
	c, err := LoadServe([]string{"--data", "/flag/data"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/flag/data" || c.Addr != "127.0.0.1:9" || c.DefaultApp != "app_env" || c.ShutdownTimeout != 3*time.Second {
		t.Errorf("got %+v", c)
	}
	if strings.Join(c.AllowEndpoints, "|") != "127.0.0.1|::1" {
		t.Errorf("allow endpoints from env: %q", c.AllowEndpoints)
	}
	c, err = LoadServe([]string{"--allow-endpoint", "a", "--allow-endpoint", "b"}, e, io.Discard)
	if err != nil || strings.Join(c.AllowEndpoints, "|") != "a|b" {
		t.Errorf("repeated flag: %q, %v", c.AllowEndpoints, err)
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	_, err := LoadServe([]string{"--addr", "nohostport", "--log-level", "loud", "--log-format", "xml"}, env(nil), io.Discard)
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"addr:", "log-level:", "log-format:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestRedactedHidesStorePassword(t *testing.T) {
	c := Serve{Store: "postgres://herald:s3cret@db:5432/herald"}
	for _, l := range c.Redacted() {
		if strings.Contains(l, "s3cret") {
			t.Errorf("password shown: %s", l)
		}
	}
}

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

func TestStoreTakesPostgresURLs(t *testing.T) {
	for _, tc := range []struct {
		store string
		ok    bool
	}{
		{"", true},
		{"sqlite", true},
		{"postgres://herald@127.0.0.1:5432/herald?sslmode=disable", true},
		{"postgresql://herald:pw@db/herald", true},
		{"mysql://herald@db/herald", false},
		{"/var/lib/herald.db", false},
	} {
		c, err := LoadServe([]string{"--store", tc.store}, env(nil), io.Discard)
		if tc.ok && (err != nil || c.Store != tc.store) {
			t.Errorf("--store %q: store %q, error %v; want it taken", tc.store, c.Store, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "store:")) {
			t.Errorf("--store %q: error %v, want a store: problem", tc.store, err)
		}
	}
	c, err := LoadServe(nil, env(map[string]string{"HERALD_STORE": "postgres://db/herald"}), io.Discard)
	if err != nil || c.Store != "postgres://db/herald" {
		t.Errorf("HERALD_STORE: store %q, error %v", c.Store, err)
	}
}

func TestRescueAfter(t *testing.T) {
	c, err := LoadServe([]string{"--rescue-after", "5s"}, env(nil), io.Discard)
	if err != nil || c.RescueAfter != 5*time.Second {
		t.Errorf("--rescue-after 5s: %v, %v", c.RescueAfter, err)
	}
	c, err = LoadServe(nil, env(map[string]string{"HERALD_RESCUE_AFTER": "90s"}), io.Discard)
	if err != nil || c.RescueAfter != 90*time.Second {
		t.Errorf("HERALD_RESCUE_AFTER=90s: %v, %v", c.RescueAfter, err)
	}
	if _, err := LoadServe([]string{"--rescue-after", "-1s"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "rescue-after") {
		t.Errorf("negative rescue-after: error %v", err)
	}
}

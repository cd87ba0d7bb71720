package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestCallbackSettings(t *testing.T) {
	env := map[string]string{"HERALD_CALLBACK_TIMEOUT": "3s", "HERALD_CALLBACK_WORKERS": "2", "HERALD_CALLBACK_RETRY": "1s"}
	c, err := LoadServe([]string{"--callback-retry", "250ms"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.CallbackTimeout != 3*time.Second || c.CallbackWorkers != 2 || c.CallbackRetry != 250*time.Millisecond {
		t.Errorf("got timeout %v workers %d retry %v", c.CallbackTimeout, c.CallbackWorkers, c.CallbackRetry)
	}
	d, err := LoadServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil || d.CallbackTimeout != 10*time.Second || d.CallbackWorkers != 4 || d.CallbackRetry != 5*time.Second {
		t.Errorf("defaults: %+v, %v", d, err)
	}
	bad := map[string]string{"HERALD_CALLBACK_TIMEOUT": "soon", "HERALD_CALLBACK_WORKERS": "-1"}
	_, err = LoadServe(nil, func(k string) string { return bad[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HERALD_CALLBACK_TIMEOUT") || !strings.Contains(err.Error(), "HERALD_CALLBACK_WORKERS") {
		t.Errorf("bad values reported as %v", err)
	}
}

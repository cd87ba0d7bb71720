package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestGuideSeedClient runs the guide's client against a real Herald: the
// subscription goes to /api/subscription stringified twice, as the
// guide's sendToServer does, and gets the guide's own answer; the guide's
// /api/push with no body then reaches it.
func TestGuideSeedClient(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	sub, err := tp.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	once, _ := json.Marshal(sub)           // JSON.stringify(pushSubscription)
	twice, _ := json.Marshal(string(once)) // body: JSON.stringify(subscription)
	success, err := os.ReadFile("../compat/guide/testdata/seed_success.json")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, http.DefaultClient, "POST", srv.URL+"/api/subscription?app="+a.ID, "", string(twice))
	if r.Status != 200 || !bytes.Equal(bytes.TrimSpace(r.Body), bytes.TrimSpace(success)) {
		t.Fatalf("subscription: %d %s", r.Status, r.Body)
	}
	r = do(t, http.DefaultClient, "POST", srv.URL+"/api/push", bearer(a.APIKey), nil)
	if r.Status != 200 || !bytes.Equal(bytes.TrimSpace(r.Body), bytes.TrimSpace(success)) {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tp.WaitCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := tp.Received(sub.ID); len(got) != 1 || !got[0].Decrypted || string(got[0].Payload) != `{"title":"New notification"}` {
		t.Errorf("received %+v", got)
	}
}

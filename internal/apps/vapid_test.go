package apps_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/webpush"
)

// TestSetVAPID imports a key made elsewhere: the app then signs with it, so
// subscriptions made against the old server's public key keep working.
func TestSetVAPID(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	a, _ := svc.Create(ctx, "Shop")
	other, _ := svc.Create(ctx, "Other")
	theirs, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	info, err := svc.SetVAPID(ctx, a.ID, apps.VAPIDSettings{PrivateKey: theirs.Bytes(), Subject: "mailto:ops@shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if info.PublicKey != webpush.EncodeBase64(theirs.PublicKey()) || info.Subject != "mailto:ops@shop.example" {
		t.Fatalf("info %+v", info)
	}
	app, _ := svc.App(ctx, a.ID)
	key, err := svc.VAPIDKey(app)
	if err != nil || !bytes.Equal(key.Bytes(), theirs.Bytes()) || app.VAPIDSubject != "mailto:ops@shop.example" {
		t.Fatalf("stored key %v, subject %q, err %v", key, app.VAPIDSubject, err)
	}
	if o, _ := svc.App(ctx, other.ID); bytes.Equal(o.VAPIDPublicKey, theirs.PublicKey()) {
		t.Fatal("another app's key changed")
	}

	// The subject alone leaves the key.
	if _, err := svc.SetVAPID(ctx, a.ID, apps.VAPIDSettings{Subject: "https://shop.example/contact"}); err != nil {
		t.Fatal(err)
	}
	app, _ = svc.App(ctx, a.ID)
	if !bytes.Equal(app.VAPIDPublicKey, theirs.PublicKey()) || app.VAPIDSubject != "https://shop.example/contact" {
		t.Fatalf("subject-only change: key %x subject %q", app.VAPIDPublicKey, app.VAPIDSubject)
	}

	for name, tc := range map[string]struct {
		app  string
		v    apps.VAPIDSettings
		want string
	}{
		"nothing":      {a.ID, apps.VAPIDSettings{}, "nothing to change"},
		"short key":    {a.ID, apps.VAPIDSettings{PrivateKey: make([]byte, 31)}, "not a P-256 private key"},
		"zero key":     {a.ID, apps.VAPIDSettings{PrivateKey: make([]byte, 32)}, "not a P-256 private key"},
		"bad subject":  {a.ID, apps.VAPIDSettings{Subject: "ops@shop.example"}, "not a mailto: or https: URI"},
		"http subject": {a.ID, apps.VAPIDSettings{Subject: "http://shop.example"}, "not a mailto: or https: URI"},
		"unknown app":  {"app_none", apps.VAPIDSettings{Subject: "mailto:a@b.example"}, "not found"},
	} {
		if _, err := svc.SetVAPID(ctx, tc.app, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	app, _ = svc.App(ctx, a.ID)
	if !bytes.Equal(app.VAPIDPublicKey, theirs.PublicKey()) || app.VAPIDSubject != "https://shop.example/contact" {
		t.Fatal("a refused change changed the app")
	}
}

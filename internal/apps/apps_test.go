package apps_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

func newService(t *testing.T) *apps.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(bytes.Repeat([]byte{3}, 32))
	return apps.New(st, sealer, time.Now)
}

func TestCreateAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	a, err := svc.Create(ctx, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Create(ctx, "Blog")
	if err != nil {
		t.Fatal(err)
	}
	if a.APIKey == b.APIKey || a.EngageLab.AppKey == b.EngageLab.AppKey || a.Najva.APIKey == b.Najva.APIKey || a.VAPIDPublicKey == b.VAPIDPublicKey {
		t.Fatal("two apps share a credential")
	}
	for name, find := range map[string]func() (string, error){
		"api key":  func() (string, error) { x, err := svc.ByAPIKey(ctx, a.APIKey); return x.ID, err },
		"webtoapp": func() (string, error) { x, err := svc.ByWebtoappKey(ctx, a.Webtoapp.APIKey); return x.ID, err },
		"najva":    func() (string, error) { x, err := svc.ByNajvaToken(ctx, a.Najva.Token); return x.ID, err },
		"engagelab": func() (string, error) {
			x, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, a.EngageLab.MasterSecret)
			return x.ID, err
		},
	} {
		if id, err := find(); err != nil || id != a.ID {
			t.Errorf("%s: %s, %v", name, id, err)
		}
	}
	for name, err := range map[string]error{
		"wrong api key":          func() error { _, err := svc.ByAPIKey(ctx, a.APIKey+"x"); return err }(),
		"empty api key":          func() error { _, err := svc.ByAPIKey(ctx, ""); return err }(),
		"webtoapp key as api":    func() error { _, err := svc.ByAPIKey(ctx, a.Webtoapp.APIKey); return err }(),
		"engagelab other secret": func() error { _, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, b.EngageLab.MasterSecret); return err }(),
		"engagelab no secret":    func() error { _, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, ""); return err }(),
	} {
		if !errors.Is(err, apps.ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}
	if _, err := svc.Create(ctx, "  "); err == nil {
		t.Error("an empty name was accepted")
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	a, _ := svc.Create(ctx, "Shop")
	for _, k := range apps.Kinds() {
		c, err := svc.Rotate(ctx, a.ID, k)
		if err != nil {
			t.Fatalf("rotate %s: %v", k, err)
		}
		switch k {
		case apps.KindAPIKey:
			if _, err := svc.ByAPIKey(ctx, a.APIKey); !errors.Is(err, apps.ErrUnauthorized) {
				t.Error("old API key still works")
			}
			if got, err := svc.ByAPIKey(ctx, c.APIKey); err != nil || got.ID != a.ID {
				t.Error("new API key does not work")
			}
		case apps.KindEngageLab:
			if c.EngageLab.AppKey != a.EngageLab.AppKey || c.EngageLab.MasterSecret == a.EngageLab.MasterSecret {
				t.Errorf("engagelab rotation: %+v", c.EngageLab)
			}
			if _, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, a.EngageLab.MasterSecret); !errors.Is(err, apps.ErrUnauthorized) {
				t.Error("old master secret still works")
			}
		case apps.KindVAPID:
			app, _ := svc.App(ctx, a.ID)
			key, err := svc.VAPIDKey(app)
			if err != nil {
				t.Fatal(err)
			}
			if c.VAPIDPublicKey == a.VAPIDPublicKey || !bytes.Equal(key.PublicKey(), app.VAPIDPublicKey) {
				t.Error("VAPID rotation did not replace the key pair")
			}
		}
	}
	if _, err := svc.Rotate(ctx, a.ID, "password"); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := svc.Rotate(ctx, "app_none", apps.KindAPIKey); err == nil {
		t.Error("unknown app accepted")
	}
}

package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// credential reads the lookup value of kind from a.
func credential(a store.App, kind store.CredentialKind) []byte {
	switch kind {
	case store.CredAPIKey:
		return a.APIKeyHash
	case store.CredEngageLabAppKey:
		return []byte(a.EngageLabAppKey)
	case store.CredEngageLabSecret:
		return a.EngageLabSecretHash
	case store.CredNajvaToken:
		return a.NajvaTokenHash
	case store.CredNajvaAPIKey:
		return []byte(a.NajvaAPIKey)
	case store.CredWebtoappKey:
		return a.WebtoappKeyHash
	}
	return nil
}

// withCredential returns a with kind's credential set to v.
func withCredential(a store.App, kind store.CredentialKind, v []byte) store.App {
	switch kind {
	case store.CredAPIKey:
		a.APIKeyHash = v
	case store.CredEngageLabAppKey:
		a.EngageLabAppKey = string(v)
	case store.CredEngageLabSecret:
		a.EngageLabSecretHash = v
	case store.CredNajvaToken:
		a.NajvaTokenHash = v
	case store.CredNajvaAPIKey:
		a.NajvaAPIKey = string(v)
	case store.CredWebtoappKey:
		a.WebtoappKeyHash = v
	}
	return a
}

// uniqueKinds are the credentials that identify an app on their own: the
// kinds AppByCredential looks up. CredEngageLabSecret is not one of them.
var uniqueKinds = []store.CredentialKind{
	store.CredAPIKey, store.CredEngageLabAppKey, store.CredNajvaToken,
	store.CredNajvaAPIKey, store.CredWebtoappKey,
}

func checkApp(t *testing.T, what string, got, want store.App) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.VAPIDSubject != want.VAPIDSubject ||
		got.EngageLabAppKey != want.EngageLabAppKey || got.NajvaAPIKey != want.NajvaAPIKey {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	for _, b := range []struct {
		name      string
		got, want []byte
	}{
		{"APIKeyHash", got.APIKeyHash, want.APIKeyHash},
		{"EngageLabSecretHash", got.EngageLabSecretHash, want.EngageLabSecretHash},
		{"NajvaTokenHash", got.NajvaTokenHash, want.NajvaTokenHash},
		{"WebtoappKeyHash", got.WebtoappKeyHash, want.WebtoappKeyHash},
		{"VAPIDPublicKey", got.VAPIDPublicKey, want.VAPIDPublicKey},
		{"VAPIDPrivateEnc", got.VAPIDPrivateEnc, want.VAPIDPrivateEnc},
	} {
		if !slices.Equal(b.got, b.want) {
			t.Errorf("%s: %s = %x, want %x", what, b.name, b.got, b.want)
		}
	}
	if !sameMS(got.CreatedAt, want.CreatedAt) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
}

func testApps(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		want := newApp(t, s, "alpha")
		got, err := s.App(t.Context(), "alpha")
		if err != nil {
			t.Fatalf("App: %v", err)
		}
		checkApp(t, "App", got, want)
	})

	t.Run("CreateStampsZeroCreatedAt", func(t *testing.T) {
		s := open(t)
		before := ms(time.Now())
		if err := s.CreateApp(t.Context(), store.App{ID: "bare", Name: "Bare"}); err != nil {
			t.Fatalf("CreateApp: %v", err)
		}
		got, err := s.App(t.Context(), "bare")
		if err != nil {
			t.Fatalf("App: %v", err)
		}
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt = %v, want about now (%v)", got.CreatedAt, before)
		}
	})

	t.Run("GetMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		if _, err := s.App(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("App(nope) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("DuplicateIDIsConflict", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "alpha")
		err := s.CreateApp(t.Context(), store.App{ID: "alpha", Name: "again"})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateApp(duplicate id) error = %v, want ErrConflict", err)
		}
	})

	t.Run("DuplicateCredentialIsConflict", func(t *testing.T) {
		for _, kind := range uniqueKinds {
			t.Run(string(kind), func(t *testing.T) {
				s := open(t)
				a := newApp(t, s, "alpha")
				b := withCredential(store.App{ID: "beta", Name: "Beta"}, kind, credential(a, kind))
				if err := s.CreateApp(t.Context(), b); !errors.Is(err, store.ErrConflict) {
					t.Fatalf("CreateApp(shared %s) error = %v, want ErrConflict", kind, err)
				}
				if _, err := s.App(t.Context(), "beta"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("App(beta) after conflict: error = %v, want ErrNotFound", err)
				}
			})
		}
	})

	t.Run("SharedEngageLabSecretIsAllowed", func(t *testing.T) {
		s := open(t)
		a := newApp(t, s, "alpha")
		b := store.App{ID: "beta", Name: "Beta", EngageLabAppKey: "el-beta", EngageLabSecretHash: a.EngageLabSecretHash}
		if err := s.CreateApp(t.Context(), b); err != nil {
			t.Fatalf("CreateApp(shared master secret): %v", err)
		}
	})

	t.Run("EngageLabSecretIsNotALookupKey", func(t *testing.T) {
		s := open(t)
		a := newApp(t, s, "alpha")
		for _, v := range [][]byte{a.EngageLabSecretHash, []byte("unknown"), nil} {
			got, err := s.AppByCredential(t.Context(), store.CredEngageLabSecret, v)
			if err == nil || errors.Is(err, store.ErrNotFound) || got.ID != "" {
				t.Errorf("AppByCredential(engagelab master secret %x) = %q, %v; want a refusal that is not ErrNotFound", v, got.ID, err)
			}
		}
		// The secret's hash is still kept, for the caller to compare.
		got, err := s.AppByCredential(t.Context(), store.CredEngageLabAppKey, []byte(a.EngageLabAppKey))
		if err != nil || !slices.Equal(got.EngageLabSecretHash, a.EngageLabSecretHash) {
			t.Errorf("by app key: secret hash %x, %v; want %x", got.EngageLabSecretHash, err, a.EngageLabSecretHash)
		}
	})

	t.Run("AppsWithoutCredentialsDoNotClash", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"one", "two", "three"} {
			if err := s.CreateApp(t.Context(), store.App{ID: id, Name: id}); err != nil {
				t.Fatalf("CreateApp(%s): %v", id, err)
			}
		}
		for _, kind := range uniqueKinds {
			if _, err := s.AppByCredential(t.Context(), kind, nil); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("AppByCredential(%s, empty) error = %v, want ErrNotFound", kind, err)
			}
		}
	})

	t.Run("ByCredential", func(t *testing.T) {
		s := open(t)
		a := newApp(t, s, "alpha")
		b := newApp(t, s, "beta")
		for _, kind := range uniqueKinds {
			t.Run(string(kind), func(t *testing.T) {
				for _, want := range []store.App{a, b} {
					got, err := s.AppByCredential(t.Context(), kind, credential(want, kind))
					if err != nil {
						t.Fatalf("AppByCredential(%s of %s): %v", kind, want.ID, err)
					}
					checkApp(t, "AppByCredential", got, want)
				}
				if _, err := s.AppByCredential(t.Context(), kind, []byte("no such credential")); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("AppByCredential(%s, unknown) error = %v, want ErrNotFound", kind, err)
				}
			})
		}
		// A value of one kind is not a value of another.
		if _, err := s.AppByCredential(t.Context(), store.CredNajvaToken, a.APIKeyHash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AppByCredential(najva_token, an api key hash) error = %v, want ErrNotFound", err)
		}
		if _, err := s.AppByCredential(t.Context(), store.CredEngageLabAppKey, []byte(a.NajvaAPIKey)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AppByCredential(engagelab_app_key, a najva api key) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		s := open(t)
		apps, err := s.ListApps(t.Context())
		if err != nil || len(apps) != 0 {
			t.Fatalf("ListApps on empty store = %v, %v; want none", apps, err)
		}
		base := ms(time.Now())
		var want []string
		for i, id := range []string{"zulu", "alpha", "mike"} {
			a := store.App{ID: id, Name: id, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
			if err := s.CreateApp(t.Context(), a); err != nil {
				t.Fatalf("CreateApp(%s): %v", id, err)
			}
			want = append(want, id)
		}
		apps, err = s.ListApps(t.Context())
		if err != nil {
			t.Fatalf("ListApps: %v", err)
		}
		var got []string
		for _, a := range apps {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListApps order = %q, want %q", got, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		a := newApp(t, s, "alpha")
		fresh := newApp(t, s, "scratch") // a source of unused credentials
		u := fresh
		u.ID, u.CreatedAt = a.ID, time.Time{}
		u.Name, u.VAPIDSubject = "Renamed", "https://alpha.example/contact"
		// Credentials must be unique, so move scratch's to alpha.
		if err := s.UpdateApp(t.Context(), store.App{ID: "scratch", Name: "emptied"}); err != nil {
			t.Fatalf("UpdateApp(scratch, no credentials): %v", err)
		}
		if err := s.UpdateApp(t.Context(), u); err != nil {
			t.Fatalf("UpdateApp: %v", err)
		}
		got, err := s.App(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("App: %v", err)
		}
		u.CreatedAt = a.CreatedAt // kept
		checkApp(t, "after UpdateApp", got, u)
		for _, kind := range uniqueKinds {
			if _, err := s.AppByCredential(t.Context(), kind, credential(a, kind)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("old %s still finds an app: error = %v", kind, err)
			}
			found, err := s.AppByCredential(t.Context(), kind, credential(u, kind))
			if err != nil || found.ID != a.ID {
				t.Errorf("new %s finds %q, %v; want %s", kind, found.ID, err, a.ID)
			}
		}
	})

	t.Run("UpdateMissingIsNotFound", func(t *testing.T) {
		s := open(t)
		err := s.UpdateApp(t.Context(), store.App{ID: "nope", Name: "x"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateApp(nope) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("UpdateToTakenCredentialIsConflict", func(t *testing.T) {
		for _, kind := range uniqueKinds {
			t.Run(string(kind), func(t *testing.T) {
				s := open(t)
				a := newApp(t, s, "alpha")
				b := newApp(t, s, "beta")
				err := s.UpdateApp(t.Context(), withCredential(b, kind, credential(a, kind)))
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("UpdateApp(beta takes alpha's %s) error = %v, want ErrConflict", kind, err)
				}
				got, err := s.App(t.Context(), "beta")
				if err != nil {
					t.Fatalf("App(beta): %v", err)
				}
				checkApp(t, "beta after failed update", got, b)
			})
		}
	})
}

package apps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// ErrUnauthorized says a presented credential matches no app.
var ErrUnauthorized = errors.New("apps: credential matches no app")

// Credential prefixes make a leaked key recognisable (and greppable).
const (
	apiKeyPrefix   = "hk_"
	webtoappPrefix = "wta_"
	appIDPrefix    = "app_"
)

// DefaultVAPIDSubject is the contact put in VAPID JWTs until the operator
// sets one. Push services use it to reach whoever runs a misbehaving sender.
const DefaultVAPIDSubject = "mailto:admin@localhost"

// Credentials are an app's secrets in clear. Only the fields that were just
// made are filled; print them once and forget them.
type Credentials struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	APIKey         string     `json:"api_key,omitempty"`
	EngageLab      *EngageLab `json:"engagelab,omitempty"`
	Najva          *Najva     `json:"najva,omitempty"`
	Webtoapp       *Webtoapp  `json:"webtoapp,omitempty"`
	VAPIDPublicKey string     `json:"vapid_public_key"`
}

// EngageLab holds the credentials EngageLab's /v4/push takes as HTTP Basic.
type EngageLab struct {
	AppKey       string `json:"app_key"`
	MasterSecret string `json:"master_secret,omitempty"`
}

// Najva holds the account token (Authorization: Token …) and the website's
// api_key (uuid) that Najva's API takes.
type Najva struct {
	Token  string `json:"token,omitempty"`
	APIKey string `json:"api_key,omitempty"`
}

// Webtoapp holds the API key passed as a query parameter in webtoapp-style sends.
type Webtoapp struct {
	APIKey string `json:"api_key"`
}

// Kind names a rotatable credential.
type Kind string

// The rotatable credentials.
const (
	KindAPIKey    Kind = "api-key"
	KindEngageLab Kind = "engagelab"
	KindNajva     Kind = "najva"
	KindWebtoapp  Kind = "webtoapp"
	KindVAPID     Kind = "vapid"
)

// Kinds lists every rotatable credential, for help texts.
func Kinds() []Kind { return []Kind{KindAPIKey, KindEngageLab, KindNajva, KindWebtoapp, KindVAPID} }

// Service creates apps and checks credentials.
type Service struct {
	store  store.Apps
	sealer *secret.Sealer
	now    func() time.Time
	creds  *credCache
}

// New returns a Service over st that seals private keys with sealer.
func New(st store.Apps, sealer *secret.Sealer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, sealer: sealer, now: now, creds: newCredCache(now)}
}

// Create makes an app named name with fresh credentials and returns them.
func (s *Service) Create(ctx context.Context, name string) (Credentials, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Credentials{}, errors.New("apps: name must not be empty")
	}
	if len(name) > 200 {
		return Credentials{}, errors.New("apps: name is longer than 200 characters")
	}
	a := store.App{
		ID:           appIDPrefix + secret.Hex(8),
		Name:         name,
		CreatedAt:    s.now().UTC().Truncate(time.Millisecond),
		VAPIDSubject: DefaultVAPIDSubject,
	}
	c := Credentials{ID: a.ID, Name: a.Name}
	for _, k := range Kinds() {
		if err := s.fresh(&a, &c, k); err != nil {
			return Credentials{}, err
		}
	}
	if err := s.store.CreateApp(ctx, a); err != nil {
		return Credentials{}, fmt.Errorf("apps: create %s: %w", a.ID, err)
	}
	return c, nil
}

// Rotate replaces one credential of app id and returns the new one. Old
// values stop working at once. Rotating the VAPID key invalidates every
// browser subscription made with the old public key: browsers must
// subscribe again.
func (s *Service) Rotate(ctx context.Context, id string, k Kind) (Credentials, error) {
	a, err := s.store.App(ctx, id)
	if err != nil {
		return Credentials{}, fmt.Errorf("apps: rotate %s of %s: %w", k, id, err)
	}
	c := Credentials{ID: a.ID, Name: a.Name, VAPIDPublicKey: webpush.EncodeBase64(a.VAPIDPublicKey)}
	if err := s.fresh(&a, &c, k); err != nil {
		return Credentials{}, err
	}
	err = s.store.UpdateApp(ctx, a)
	s.creds.forget() // even on error: the update may have happened
	if err != nil {
		return Credentials{}, fmt.Errorf("apps: rotate %s of %s: %w", k, id, err)
	}
	return c, nil
}

// fresh makes a new credential of kind k, storing its digest in a and its
// clear value in c.
func (s *Service) fresh(a *store.App, c *Credentials, k Kind) error {
	switch k {
	case KindAPIKey:
		c.APIKey = secret.Token(apiKeyPrefix, 24)
		a.APIKeyHash = secret.Hash(c.APIKey)
	case KindEngageLab:
		if a.EngageLabAppKey == "" {
			a.EngageLabAppKey = secret.Hex(12) // 24 hex digits, as EngageLab's keys
		}
		c.EngageLab = &EngageLab{AppKey: a.EngageLabAppKey, MasterSecret: secret.Hex(12)}
		a.EngageLabSecretHash = secret.Hash(c.EngageLab.MasterSecret)
	case KindNajva:
		if a.NajvaAPIKey == "" {
			a.NajvaAPIKey = secret.UUID()
		}
		c.Najva = &Najva{Token: secret.Hex(20), APIKey: a.NajvaAPIKey}
		a.NajvaTokenHash = secret.Hash(c.Najva.Token)
	case KindWebtoapp:
		c.Webtoapp = &Webtoapp{APIKey: secret.Token(webtoappPrefix, 24)}
		a.WebtoappKeyHash = secret.Hash(c.Webtoapp.APIKey)
	case KindVAPID:
		key, err := webpush.GenerateVAPIDKey()
		if err != nil {
			return fmt.Errorf("apps: generate VAPID key: %w", err)
		}
		a.VAPIDPublicKey = key.PublicKey()
		a.VAPIDPrivateEnc = s.sealer.Seal(key.Bytes(), vapidLabel(a.ID))
		c.VAPIDPublicKey = webpush.EncodeBase64(a.VAPIDPublicKey)
	default:
		return fmt.Errorf("apps: unknown credential kind %q (want one of %v)", k, Kinds())
	}
	return nil
}

func vapidLabel(appID string) string { return appID + "/vapid" }

// VAPIDKey opens an app's sealed VAPID private key.
func (s *Service) VAPIDKey(a store.App) (*webpush.VAPIDKey, error) {
	raw, err := s.sealer.Open(a.VAPIDPrivateEnc, vapidLabel(a.ID))
	if err != nil {
		return nil, fmt.Errorf("apps: VAPID key of %s: %w", a.ID, err)
	}
	key, err := webpush.VAPIDKeyFromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("apps: VAPID key of %s: %w", a.ID, err)
	}
	return key, nil
}

// ByAPIKey returns the app whose Herald API key is key.
func (s *Service) ByAPIKey(ctx context.Context, key string) (store.App, error) {
	return s.byHash(ctx, store.CredAPIKey, key)
}

// ByWebtoappKey returns the app whose webtoapp API key is key.
func (s *Service) ByWebtoappKey(ctx context.Context, key string) (store.App, error) {
	return s.byHash(ctx, store.CredWebtoappKey, key)
}

// ByNajvaToken returns the app whose Najva token is token.
func (s *Service) ByNajvaToken(ctx context.Context, token string) (store.App, error) {
	return s.byHash(ctx, store.CredNajvaToken, token)
}

// ByEngageLab returns the app whose EngageLab AppKey and MasterSecret match.
func (s *Service) ByEngageLab(ctx context.Context, appKey, masterSecret string) (store.App, error) {
	if appKey == "" || masterSecret == "" {
		return store.App{}, ErrUnauthorized
	}
	a, err := s.byCredential(ctx, store.CredEngageLabAppKey, []byte(appKey))
	if err != nil {
		return store.App{}, err
	}
	if !secret.Equal(masterSecret, a.EngageLabSecretHash) {
		return store.App{}, ErrUnauthorized
	}
	return a, nil
}

func (s *Service) byHash(ctx context.Context, kind store.CredentialKind, value string) (store.App, error) {
	if value == "" {
		return store.App{}, ErrUnauthorized
	}
	return s.byCredential(ctx, kind, secret.Hash(value))
}

// byCredential finds the app owning a credential, from the cache when it
// was found less than CredentialTTL ago.
func (s *Service) byCredential(ctx context.Context, kind store.CredentialKind, value []byte) (store.App, error) {
	k := credKey{kind: kind, value: string(value)}
	if a, ok := s.creds.get(k); ok {
		return a, nil
	}
	a, err := s.store.AppByCredential(ctx, kind, value)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, ErrUnauthorized
	}
	if err != nil {
		return store.App{}, fmt.Errorf("apps: find by %s: %w", kind, err)
	}
	s.creds.put(k, a)
	return a, nil
}

// App returns one app by id.
func (s *Service) App(ctx context.Context, id string) (store.App, error) {
	a, err := s.store.App(ctx, id)
	if err != nil {
		return store.App{}, fmt.Errorf("apps: %s: %w", id, err)
	}
	return a, nil
}

// List returns every app.
func (s *Service) List(ctx context.Context) ([]store.App, error) {
	list, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("apps: list: %w", err)
	}
	return list, nil
}

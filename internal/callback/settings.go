package callback

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
)

// secretPrefix makes a leaked callback secret recognisable.
const secretPrefix = "whsec_"

// ErrBadURL says a callback URL was refused; the message says why.
var ErrBadURL = errors.New("callback: bad URL")

// Setting is what may be shown of an app's callback: never the secret.
type Setting struct {
	URL       string    `json:"url"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Service sets, shows and clears apps' callbacks.
type Service struct {
	st     store.Callbacks
	sealer *secret.Sealer
	now    func() time.Time
}

// NewService returns the settings service; secrets are sealed with sealer.
func NewService(st store.Callbacks, sealer *secret.Sealer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, sealer: sealer, now: now}
}

func secretLabel(appID string) string { return appID + "/callback" }

// CheckURL says whether u may be a callback URL: absolute http or https
// with a host and no user name or password (they would be sent in clear
// in logs and settings pages; put credentials in the path or trust the
// signature instead).
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	switch {
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("%w: must start with https:// or http://", ErrBadURL)
	case p.Host == "" || p.Hostname() == "":
		return fmt.Errorf("%w: has no host", ErrBadURL)
	case p.User != nil:
		return fmt.Errorf("%w: must not carry a user name or password", ErrBadURL)
	case p.Fragment != "":
		return fmt.Errorf("%w: must not have a #fragment", ErrBadURL)
	case len(u) > 2048:
		return fmt.Errorf("%w: longer than 2048 characters", ErrBadURL)
	}
	return nil
}

// Set points the app's callback at u. A new secret is made when the app
// has none or rotate is true, and returned (shown once); otherwise the
// secret is kept and "" is returned. ErrBadURL for a refused URL,
// store.ErrNotFound for an unknown app.
func (s *Service) Set(ctx context.Context, appID, u string, rotate bool) (Setting, string, error) {
	if err := CheckURL(u); err != nil {
		return Setting{}, "", err
	}
	c := store.Callback{URL: u, UpdatedAt: s.now().UTC().Truncate(time.Millisecond)}
	var plain string
	old, err := s.st.Callback(ctx, appID)
	switch {
	case err == nil && !rotate:
		c.SecretSealed = old.SecretSealed
	case err == nil || errors.Is(err, store.ErrNotFound):
		plain = secret.Token(secretPrefix, 32)
		c.SecretSealed = s.sealer.Seal([]byte(plain), secretLabel(appID))
	default:
		return Setting{}, "", fmt.Errorf("callback: set for %s: %w", appID, err)
	}
	if err := s.st.SetCallback(ctx, appID, c); err != nil {
		return Setting{}, "", fmt.Errorf("callback: set for %s: %w", appID, err)
	}
	return Setting{URL: c.URL, UpdatedAt: c.UpdatedAt}, plain, nil
}

// Get returns the app's callback setting; store.ErrNotFound if it has none.
func (s *Service) Get(ctx context.Context, appID string) (Setting, error) {
	c, err := s.st.Callback(ctx, appID)
	if err != nil {
		return Setting{}, fmt.Errorf("callback: setting of %s: %w", appID, err)
	}
	return Setting{URL: c.URL, UpdatedAt: c.UpdatedAt}, nil
}

// Clear removes the app's callback and drops its pending events;
// store.ErrNotFound if it had none.
func (s *Service) Clear(ctx context.Context, appID string) error {
	if err := s.st.DeleteCallback(ctx, appID); err != nil {
		return fmt.Errorf("callback: clear for %s: %w", appID, err)
	}
	return nil
}

// open returns the app's URL and plain secret.
func (s *Service) open(ctx context.Context, appID string) (string, []byte, error) {
	c, err := s.st.Callback(ctx, appID)
	if err != nil {
		return "", nil, fmt.Errorf("callback: setting of %s: %w", appID, err)
	}
	key, err := s.sealer.Open(c.SecretSealed, secretLabel(appID))
	if err != nil {
		return "", nil, fmt.Errorf("callback: secret of %s: %w", appID, err)
	}
	return c.URL, key, nil
}

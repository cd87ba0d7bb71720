package apps

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/webpush"
)

// VAPIDSettings change an app's VAPID identity. Empty fields are left as
// they are.
type VAPIDSettings struct {
	// PrivateKey is an existing key's 32-byte private scalar (what the
	// web-push libraries print as "privateKey", base64url-decoded). Moving
	// from another server keeps its key, because browsers bound their
	// subscriptions to its public key: with another key, every push to
	// them is refused.
	PrivateKey []byte
	// Subject is the contact put in VAPID JWTs, a mailto: or https: URI.
	Subject string
}

// VAPIDInfo is an app's VAPID identity after a change; nothing in it is
// secret.
type VAPIDInfo struct {
	App       string `json:"app"`
	PublicKey string `json:"vapid_public_key"`
	Subject   string `json:"vapid_subject"`
}

// SetVAPID imports an existing VAPID key into app id, sets its VAPID
// subject, or both. The private key is sealed like a generated one.
func (s *Service) SetVAPID(ctx context.Context, id string, v VAPIDSettings) (VAPIDInfo, error) {
	if len(v.PrivateKey) == 0 && v.Subject == "" {
		return VAPIDInfo{}, fmt.Errorf("apps: set VAPID of %s: nothing to change (give a private key, a subject or both)", id)
	}
	if v.Subject != "" {
		if err := webpush.CheckSubject(v.Subject); err != nil {
			return VAPIDInfo{}, fmt.Errorf("apps: set VAPID of %s: %w", id, err)
		}
	}
	a, err := s.store.App(ctx, id)
	if err != nil {
		return VAPIDInfo{}, fmt.Errorf("apps: set VAPID of %s: %w", id, err)
	}
	if len(v.PrivateKey) > 0 {
		key, err := webpush.VAPIDKeyFromBytes(v.PrivateKey)
		if err != nil {
			return VAPIDInfo{}, fmt.Errorf("apps: set VAPID of %s: not a P-256 private key: %w", id, err)
		}
		a.VAPIDPublicKey = key.PublicKey()
		a.VAPIDPrivateEnc = s.sealer.Seal(key.Bytes(), vapidLabel(a.ID))
	}
	if v.Subject != "" {
		a.VAPIDSubject = v.Subject
	}
	err = s.store.UpdateApp(ctx, a)
	s.creds.forget() // even on error: the update may have happened
	if err != nil {
		return VAPIDInfo{}, fmt.Errorf("apps: set VAPID of %s: %w", id, err)
	}
	return VAPIDInfo{App: a.ID, PublicKey: webpush.EncodeBase64(a.VAPIDPublicKey), Subject: a.VAPIDSubject}, nil
}

package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/apns"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/store"
)

// ChannelStore is the part of the store that keeps channel credentials.
type ChannelStore interface {
	SetChannelCredentials(ctx context.Context, appID string, ch store.Channel, c store.SealedCredentials) error
	ChannelCredentials(ctx context.Context, appID string, ch store.Channel) (store.SealedCredentials, error)
	DeleteChannelCredentials(ctx context.Context, appID string, ch store.Channel) error
}

// FCMInfo is what may be shown of an app's FCM service account.
type FCMInfo struct {
	ProjectID   string    `json:"project_id"`
	ClientEmail string    `json:"client_email"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// APNsInfo is what may be shown of an app's APNs key.
type APNsInfo struct {
	KeyID      string    `json:"key_id"`
	TeamID     string    `json:"team_id"`
	Topic      string    `json:"topic"`
	Production bool      `json:"production"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// APNsKey is an APNs token-auth key as an operator uploads it.
type APNsKey struct {
	P8         []byte // the AuthKey_<key id>.p8 file
	KeyID      string
	TeamID     string
	Topic      string // the app's bundle id
	Production bool
}

// Channels manages apps' FCM and APNs credentials: validated on the way in,
// sealed with the master key at rest, opened for the delivery engine.
type Channels struct {
	apps  *Service
	store ChannelStore
}

// NewChannels returns the credential manager.
func NewChannels(a *Service, st ChannelStore) *Channels { return &Channels{apps: a, store: st} }

func channelLabel(appID string, ch store.Channel) string { return appID + "/" + string(ch) }

// SetFCM validates and stores an app's service-account JSON.
func (c *Channels) SetFCM(ctx context.Context, appID string, serviceAccount []byte) (FCMInfo, error) {
	sa, err := fcm.ParseServiceAccount(serviceAccount)
	if err != nil {
		return FCMInfo{}, err
	}
	info := FCMInfo{ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, UpdatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	meta, _ := json.Marshal(info)
	sealed := c.apps.sealer.Seal(serviceAccount, channelLabel(appID, store.ChannelFCM))
	if err := c.store.SetChannelCredentials(ctx, appID, store.ChannelFCM, store.SealedCredentials{Sealed: sealed, Meta: meta, UpdatedAt: info.UpdatedAt}); err != nil {
		return FCMInfo{}, fmt.Errorf("apps: set FCM account of %s: %w", appID, err)
	}
	return info, nil
}

// SetAPNs validates and stores an app's APNs signing key.
func (c *Channels) SetAPNs(ctx context.Context, appID string, k APNsKey) (APNsInfo, error) {
	key, err := apns.ParseKey(k.P8)
	if err != nil {
		return APNsInfo{}, err
	}
	creds := apns.Credentials{KeyID: k.KeyID, TeamID: k.TeamID, Topic: k.Topic, Key: key, Production: k.Production}
	if err := creds.Validate(); err != nil {
		return APNsInfo{}, err
	}
	info := APNsInfo{KeyID: k.KeyID, TeamID: k.TeamID, Topic: k.Topic, Production: k.Production, UpdatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	meta, _ := json.Marshal(info)
	sealed := c.apps.sealer.Seal(k.P8, channelLabel(appID, store.ChannelAPNs))
	if err := c.store.SetChannelCredentials(ctx, appID, store.ChannelAPNs, store.SealedCredentials{Sealed: sealed, Meta: meta, UpdatedAt: info.UpdatedAt}); err != nil {
		return APNsInfo{}, fmt.Errorf("apps: set APNs key of %s: %w", appID, err)
	}
	return info, nil
}

// Delete removes an app's credentials for ch.
func (c *Channels) Delete(ctx context.Context, appID string, ch store.Channel) error {
	if err := c.store.DeleteChannelCredentials(ctx, appID, ch); err != nil {
		return fmt.Errorf("apps: delete %s credentials of %s: %w", ch, appID, err)
	}
	return nil
}

// FCMInfo describes an app's FCM account; store.ErrNotFound if none.
func (c *Channels) FCMInfo(ctx context.Context, appID string) (FCMInfo, error) {
	var info FCMInfo
	return info, c.info(ctx, appID, store.ChannelFCM, &info)
}

// APNsInfo describes an app's APNs key; store.ErrNotFound if none.
func (c *Channels) APNsInfo(ctx context.Context, appID string) (APNsInfo, error) {
	var info APNsInfo
	return info, c.info(ctx, appID, store.ChannelAPNs, &info)
}

func (c *Channels) info(ctx context.Context, appID string, ch store.Channel, v any) error {
	sc, err := c.store.ChannelCredentials(ctx, appID, ch)
	if err != nil {
		return fmt.Errorf("apps: %s credentials of %s: %w", ch, appID, err)
	}
	if err := json.Unmarshal(sc.Meta, v); err != nil {
		return fmt.Errorf("apps: %s credentials of %s: %w", ch, appID, err)
	}
	return nil
}

// FCMAccount opens an app's service account, for fcm.Pusher; it wraps
// fcm.ErrNoCredentials when the app has none.
func (c *Channels) FCMAccount(ctx context.Context, appID string) (fcm.ServiceAccount, error) {
	raw, err := c.open(ctx, appID, store.ChannelFCM)
	if errors.Is(err, store.ErrNotFound) {
		return fcm.ServiceAccount{}, fmt.Errorf("apps: %s: %w", appID, fcm.ErrNoCredentials)
	}
	if err != nil {
		return fcm.ServiceAccount{}, err
	}
	return fcm.ParseServiceAccount(raw)
}

// APNsCredentials opens an app's APNs key, for apns.Pusher; it wraps
// apns.ErrNoCredentials when the app has none.
func (c *Channels) APNsCredentials(ctx context.Context, appID string) (apns.Credentials, error) {
	sc, err := c.store.ChannelCredentials(ctx, appID, store.ChannelAPNs)
	if errors.Is(err, store.ErrNotFound) {
		return apns.Credentials{}, fmt.Errorf("apps: %s: %w", appID, apns.ErrNoCredentials)
	}
	if err != nil {
		return apns.Credentials{}, err
	}
	var info APNsInfo
	if err := json.Unmarshal(sc.Meta, &info); err != nil {
		return apns.Credentials{}, fmt.Errorf("apps: APNs key of %s: %w", appID, err)
	}
	p8, err := c.apps.sealer.Open(sc.Sealed, channelLabel(appID, store.ChannelAPNs))
	if err != nil {
		return apns.Credentials{}, fmt.Errorf("apps: APNs key of %s: %w", appID, err)
	}
	key, err := apns.ParseKey(p8)
	if err != nil {
		return apns.Credentials{}, err
	}
	return apns.Credentials{KeyID: info.KeyID, TeamID: info.TeamID, Topic: info.Topic, Key: key, Production: info.Production}, nil
}

func (c *Channels) open(ctx context.Context, appID string, ch store.Channel) ([]byte, error) {
	sc, err := c.store.ChannelCredentials(ctx, appID, ch)
	if err != nil {
		return nil, err
	}
	raw, err := c.apps.sealer.Open(sc.Sealed, channelLabel(appID, ch))
	if err != nil {
		return nil, fmt.Errorf("apps: %s credentials of %s: %w", ch, appID, err)
	}
	return raw, nil
}

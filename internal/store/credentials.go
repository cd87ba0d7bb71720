package store

import (
	"context"
	"time"
)

// SealedCredentials are one app's credentials for a channel (an FCM service
// account, an APNs signing key): Sealed is the secret part sealed with the
// master key; Meta is non-secret JSON shown to operators (project id, key
// id, team id, topic, environment).
type SealedCredentials struct {
	Sealed    []byte
	Meta      []byte
	UpdatedAt time.Time
}

// ChannelCredentials keeps apps' FCM and APNs credentials.
type ChannelCredentials interface {
	// SetChannelCredentials stores (or replaces) the app's credentials for
	// ch. ErrNotFound if the app does not exist.
	SetChannelCredentials(ctx context.Context, appID string, ch Channel, c SealedCredentials) error
	// ChannelCredentials returns them; ErrNotFound if the app has none.
	ChannelCredentials(ctx context.Context, appID string, ch Channel) (SealedCredentials, error)
	// DeleteChannelCredentials removes them; ErrNotFound if there were none.
	DeleteChannelCredentials(ctx context.Context, appID string, ch Channel) error
}

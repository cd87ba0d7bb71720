package registry

import (
	"context"
	"errors"

	"github.com/heraldpush/herald/internal/store"
)

// Find returns the device of appID that token names, whichever of the
// names the device may know itself by: its registration id (what
// getNotificationToken() gives in a browser), its native FCM or APNs
// token (what it gives inside an app wrapper), or its Web Push endpoint.
// A registration id is tried first; ErrNotFound if nothing matches.
func (s *Service) Find(ctx context.Context, appID, token string) (store.Subscriber, error) {
	sub, err := s.store.Subscriber(ctx, appID, token)
	if !errors.Is(err, store.ErrNotFound) {
		if err != nil {
			return store.Subscriber{}, s.wrap("find", token, err)
		}
		return sub, nil
	}
	for _, ch := range []store.Channel{store.ChannelFCM, store.ChannelAPNs, store.ChannelWebPush} {
		sub, err := s.store.SubscriberByToken(ctx, appID, ch, token)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Subscriber{}, s.wrap("find", "by token", err)
		}
		return sub, nil
	}
	return store.Subscriber{}, s.wrap("find", "by token", store.ErrNotFound)
}

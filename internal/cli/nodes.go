package cli

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/apps"
)

// checkSharedMasterKey makes a node on a shared store prove that its
// master key opens what the other nodes sealed: the VAPID key of the
// oldest app. A node started without the others' HERALD_MASTER_KEY would
// otherwise generate a key of its own and fail every Web Push batch it
// works. A store without apps has nothing to check.
func checkSharedMasterKey(ctx context.Context, a *apps.Service) error {
	list, err := a.List(ctx)
	if err != nil {
		return fmt.Errorf("check master key: %w", err)
	}
	for _, app := range list {
		if len(app.VAPIDPrivateEnc) == 0 {
			continue
		}
		if _, err := a.VAPIDKey(app); err != nil {
			return fmt.Errorf("the master key does not open app %s's VAPID key (%w): every node on a shared store needs the same HERALD_MASTER_KEY or HERALD_MASTER_KEY_FILE", app.ID, err)
		}
		return nil
	}
	return nil
}

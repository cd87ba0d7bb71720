package cli

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/callback"
)

// runCallback does `herald app set-callback` and `herald app clear-callback`.
// The signing secret is printed once, when it is made.
func runCallback(ctx context.Context, env Env, svc *callback.Service, sub, appID string, url *string, rotate *bool, asJSON bool) error {
	if appID == "" || (sub == "set-callback" && *url == "") {
		return usageError{"app " + sub + ": --app is required" + map[bool]string{true: ", and --url", false: ""}[sub == "set-callback"]}
	}
	if sub == "clear-callback" {
		if err := svc.Clear(ctx, appID); err != nil {
			return err
		}
		return printInfo(env, map[string]string{"app_id": appID}, asJSON, "Callback of "+appID+" cleared; its unsent events were dropped.")
	}
	set, secret, err := svc.Set(ctx, appID, *url, *rotate)
	if err != nil {
		return err
	}
	out := struct {
		callback.Setting
		AppID  string `json:"app_id"`
		Secret string `json:"secret,omitempty"`
	}{set, appID, secret}
	text := fmt.Sprintf("Callback of %s: %s\n", appID, set.URL)
	if secret != "" {
		text += "Signing secret (shown once; Herald keeps it sealed): " + secret
	} else {
		text += "Signing secret unchanged (--rotate-secret makes a new one)."
	}
	return printInfo(env, out, asJSON, text)
}

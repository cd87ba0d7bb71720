package sdk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/sdk"
	"github.com/heraldpush/herald/internal/store"
)

// FuzzRegister posts arbitrary bodies to POST /sdk/v1/subscribers. Each
// is either registered (201 or 200 with a registration id and a device
// key) or refused with a client error whose message names its field
// first, and a refused one stores no device.
func FuzzRegister(f *testing.F) {
	e := newEnv(f, false)
	good, _ := json.Marshal(map[string]any{"subscription": subscription(f), "tags": []string{"news"}, "alias": "u1", "language": "fa", "timezone": "Asia/Tehran"})
	for _, s := range []string{string(good), `{"type":"fcm","token":"t"}`, `{"subscription":{"endpoint":"https://updates.push.services.mozilla.com/wpush/v2/x","keys":{"p256dh":"BAAA","auth":"AAAA"}}}`,
		`{"replaces":{"registration_id":"r_x","device_key":"k"}}`, ``, `[]`, `{"tags":"a"}`} {
		f.Add(s)
	}
	codes := map[string]int{api.CodeBadJSON: 400, api.CodeEmptyBody: 400, api.CodeUnknownField: 400, api.CodeWrongType: 400,
		api.CodeInvalidField: 400, api.CodeBodyTooLarge: 413, api.CodeNotFound: 404, sdk.CodePushNotEnabled: 403, sdk.CodeForbidden: 403}
	f.Fuzz(func(t *testing.T, body string) {
		before, err := e.reg.Count(t.Context(), e.a.ID, store.SubscriberFilter{})
		if err != nil {
			t.Fatal(err)
		}
		a := e.do(t, http.MethodPost, "/sdk/v1/subscribers?app="+e.a.ID, body, nil)
		if a.status == http.StatusCreated || a.status == http.StatusOK {
			var got struct {
				RegistrationID string `json:"registration_id"`
				DeviceKey      string `json:"device_key"`
			}
			if err := json.Unmarshal(a.body, &got); err != nil || !strings.HasPrefix(got.RegistrationID, "r_") || got.DeviceKey == "" {
				t.Fatalf("%q: registered as %s", body, a.body)
			}
			return
		}
		var eb api.ErrorBody
		if err := json.Unmarshal(a.body, &eb); err != nil || eb.Error == nil {
			t.Fatalf("%q: %d %s is not an error body", body, a.status, a.body)
		}
		// Field errors (400) say their field first; the 403s name the field
		// they are about without starting with it.
		if st, ok := codes[eb.Error.Code]; !ok || st != a.status || eb.Error.Message == "" ||
			st == 400 && eb.Error.Field != "" && !strings.HasPrefix(eb.Error.Message, eb.Error.Field) {
			t.Fatalf("%q: %d %s", body, a.status, a.body)
		}
		if after, _ := e.reg.Count(t.Context(), e.a.ID, store.SubscriberFilter{}); after != before {
			t.Fatalf("%q: refused, but the app's devices went from %d to %d", body, before, after)
		}
	})
}

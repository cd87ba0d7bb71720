package fcm

import (
	"errors"
	"reflect"
	"testing"
)

func TestMessageFromPayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Message
	}{
		{"notification",
			`{"id":"42","title":"T","body":"B","url":"https://x/","icon":"i.png","image":"im.png","tag":"news"}`,
			Message{Title: "T", Body: "B", URL: "https://x/", Icon: "i.png", Image: "im.png", Tag: "news", Data: map[string]string{"id": "42"}}},
		{"extras and data object",
			`{"id":"7","title":"T","extras":{"a":"x","n":1,"o":{"k":[1, 2]}},"data":{"a":"from data","b":true,"google.x":"dropped","from":"dropped"}}`,
			Message{Title: "T", Data: map[string]string{"id": "7", "a": "from data", "n": "1", "o": `{"k":[1,2]}`, "b": "true"}}},
		{"data-only, data not an object",
			`{"id":"9","data":[1,"two"]}`,
			Message{Data: map[string]string{"id": "9", "data": `[1,"two"]`}}},
		{"data string",
			`{"data":"plain"}`,
			Message{Data: map[string]string{"data": "plain"}}},
		{"null data, no id",
			`{"title":"T","data":null}`,
			Message{Title: "T"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MessageFromPayload([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
			if err := (Message{Token: "t", Title: got.Title, Data: got.Data}).validate(); err != nil {
				t.Errorf("the message is not sendable: %v", err)
			}
		})
	}
	for _, bad := range []string{"", "[]", `"x"`, `{"title":1}`} {
		if _, err := MessageFromPayload([]byte(bad)); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("MessageFromPayload(%q) = %v", bad, err)
		}
	}
}

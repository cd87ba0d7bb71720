package send_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/send"
)

// payload builds the message r describes and returns the payload a device
// whose language is lang gets, for message id 42.
func payload(t *testing.T, r send.Request, lang string) map[string]any {
	t.Helper()
	s := send.New(nil, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) })
	m, err := s.Message("app_1", r)
	if err != nil {
		t.Fatal(err)
	}
	var c delivery.Content
	if err := json.Unmarshal(m.Content, &c); err != nil {
		t.Fatal(err)
	}
	b, err := c.Payload(42, lang)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTagPrefix checks that a message tagged by prefix carries its own id
// in its tag, and that an explicit replace key wins.
func TestTagPrefix(t *testing.T) {
	r := send.Request{To: &send.Target{All: true}, Content: send.Content{Title: "t"}, TagPrefix: "el-"}
	if p := payload(t, r, ""); p["tag"] != "el-42" {
		t.Errorf("tag %v, want el-42", p["tag"])
	}
	r.Replace = "el-7"
	if p := payload(t, r, ""); p["tag"] != "el-7" {
		t.Errorf("tag %v, want el-7 (the replace key)", p["tag"])
	}
	r.Replace, r.TagPrefix = "", ""
	if p := payload(t, r, ""); p["tag"] != nil {
		t.Errorf("untagged message got tag %v", p["tag"])
	}
	r.TagPrefix = "a-very-long-prefix-of-more-than-32-bytes"
	if _, err := send.New(nil, nil).Message("app_1", r); err == nil {
		t.Error("an overlong tag prefix was accepted")
	}
}

// TestLocalizedData checks that a language's Data replaces the data
// message for devices in that language only.
func TestLocalizedData(t *testing.T) {
	r := send.Request{To: &send.Target{All: true}, Data: json.RawMessage(`{"msg":"hello"}`),
		Content: send.Content{Languages: map[string]send.Localized{"fr": {Data: json.RawMessage(`{"msg":"bonjour"}`)}}}}
	if p := payload(t, r, "fr-CA"); p["data"].(map[string]any)["msg"] != "bonjour" {
		t.Errorf("fr-CA data %v", p["data"])
	}
	if p := payload(t, r, "en"); p["data"].(map[string]any)["msg"] != "hello" {
		t.Errorf("en data %v", p["data"])
	}
	r.Content.Languages["fr"] = send.Localized{Data: json.RawMessage(`{`)}
	if _, err := send.New(nil, nil).Message("app_1", r); err == nil {
		t.Error("invalid localized data was accepted")
	}
}

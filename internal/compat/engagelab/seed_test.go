package engagelab

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// withFragment puts one of the seed's example fragments into a minimal
// valid request: top-level keys at the top, body keys into body, option
// keys into body.options.
func withFragment(t testing.TB, name string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/seed_fragments/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var frag map[string]json.RawMessage
	if err := json.Unmarshal(raw, &frag); err != nil {
		t.Fatalf("%s is not JSON: %v", name, err)
	}
	body := map[string]json.RawMessage{"platform": json.RawMessage(`"web"`),
		"notification": json.RawMessage(`{"web":{"alert":"a","url":"/"}}`)}
	top := map[string]json.RawMessage{"to": json.RawMessage(`"all"`)}
	for k, v := range frag {
		switch k {
		case "platform", "notification", "message", "options":
			body[k] = v
		case "third_party_channel":
			body["options"] = json.RawMessage(`{"third_party_channel":` + string(v) + `}`)
		default:
			top[k] = v
		}
	}
	b, _ := json.Marshal(body)
	top["body"] = b
	out, _ := json.Marshal(top)
	return string(out)
}

// TestSeedFragments sends each of seed 003's example fragments, in a
// minimal request, through /v4/push and gets the seed's answers: 200
// {"request_id","msg_id"} (request_id only when sent) with what the
// fragment says carried into the send; the example registration ids,
// which Herald never issued, are 20101.
func TestSeedFragments(t *testing.T) {
	seedOK, _ := os.ReadFile("testdata/seed_fragments/answer_200.json")
	var okShape map[string]string
	if err := json.Unmarshal(seedOK, &okShape); err != nil {
		t.Fatal(err)
	}
	seedErr, _ := os.ReadFile("testdata/seed_fragments/answer_error.json")
	var errShape map[string]any
	if err := json.Unmarshal(seedErr, &errShape); err != nil {
		t.Fatal(err)
	}
	digits := regexp.MustCompile(`^[0-9]+$`)
	tests := []struct {
		file  string
		check func(t *testing.T, s *fakeSender)
	}{
		{"from.json", nil},
		{"to_all.json", func(t *testing.T, s *fakeSender) {
			if !s.sent[0].To.All {
				t.Errorf("to: %+v", s.sent[0].To)
			}
		}},
		{"to_tags.json", func(t *testing.T, s *fakeSender) {
			to := s.sent[0].To
			if fmt.Sprint(to.Tags, to.TagsAnd, to.TagsNot) != "[tag1 tag2] [tag3 tag4] [tag5 tag6]" || to.All {
				t.Errorf("to: %+v", to)
			}
		}},
		{"platform.json", nil},
		{"notification.json", func(t *testing.T, s *fakeSender) {
			c := s.sent[0].Content
			if c.Title != "Push Test" || c.Body != "hello, Push!" || c.URL != "http://www.google.com" || c.Icon != "" ||
				fmt.Sprint(c.Extras) != "map[my_key:a value news_id:134]" {
				t.Errorf("content %+v", c)
			}
		}},
		{"message.json", func(t *testing.T, s *fakeSender) {
			if d := string(s.sent[0].Data); d != `{"content_type":"text","extras":{"key":"value"},"msg_content":"Hi,Push","title":"msg"}` {
				t.Errorf("data %s", d)
			}
		}},
		{"multi_language.json", func(t *testing.T, s *fakeSender) {
			if l := s.sent[0].Content.Languages; len(l) != 0 {
				t.Errorf("the seed's empty en entry made languages %v", l)
			}
		}},
		{"third_party_channel.json", nil},
		{"request_id.json", func(t *testing.T, s *fakeSender) {
			if s.sent[0].RequestID != "12345678" {
				t.Errorf("request_id %q", s.sent[0].RequestID)
			}
		}},
		{"custom_args.json", func(t *testing.T, s *fakeSender) {
			if string(s.sent[0].CustomArgs) != `"business info"` {
				t.Errorf("custom_args %s", s.sent[0].CustomArgs)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s := &fakeSender{}
			h := newTest(Options{}, s, fakeStore{matches: 1}, fakeApps{})
			body := withFragment(t, tc.file)
			a := call(h, "POST", basic(testKey, testSecret), body)
			var got map[string]string
			if err := json.Unmarshal([]byte(a.body), &got); a.status != 200 || err != nil || !digits.MatchString(got["msg_id"]) {
				t.Fatalf("%s: %d %s", body, a.status, a.body)
			}
			_, hasID := got["request_id"]
			if want := strings.Contains(body, `"request_id"`); hasID != want || len(got) != 1+map[bool]int{true: 1}[want] {
				t.Errorf("answer %s, the seed's shape %s", a.body, seedOK)
			}
			if len(s.sent) != 1 {
				t.Fatalf("%d sends", len(s.sent))
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
	s := &fakeSender{}
	h := newTest(Options{}, s, fakeStore{matches: 1}, fakeApps{})
	a := call(h, "POST", basic(testKey, testSecret), withFragment(t, "to_registration_id.json"))
	if a.status != 400 || a.code != CodeBadRegistrationID || a.msg != `to.registration_id[0]: "4312kjklfds2" is not a registration id Herald issued (they start with r_)` {
		t.Errorf("the seed's registration ids: %d %s", a.status, a.body)
	}
	var e map[string]any
	json.Unmarshal([]byte(a.body), &e)
	if k := reflect.ValueOf(e).MapKeys(); len(k) != len(errShape) || reflect.TypeOf(e["code"]) != reflect.TypeOf(errShape["code"]) ||
		reflect.TypeOf(e["message"]) != reflect.TypeOf(errShape["message"]) {
		t.Errorf("error %s has not the seed's shape %s", a.body, seedErr)
	}
	if len(s.sent) != 0 {
		t.Errorf("a refused request sent")
	}
}

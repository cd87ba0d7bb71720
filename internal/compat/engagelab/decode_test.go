package engagelab

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// web is a valid body.notification.
const web = `{"web":{"alert":"a","url":"https://example.test/"}}`

// req builds a request body: to and body are JSON.
func req(to, body string) string { return `{"to":` + to + `,"body":` + body + `}` }

// nbody is a body with the notification web and the options opts (JSON).
func nbody(opts string) string {
	if opts == "" {
		return `{"platform":"web","notification":` + web + `}`
	}
	return `{"platform":"web","notification":` + web + `,"options":` + opts + `}`
}

func ids(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("r_%06d", i)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func words(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("t%d", i)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// TestDecodeRefuses checks the exact code, status and message of each bad
// request the decoder can see.
func TestDecodeRefuses(t *testing.T) {
	big := strings.Repeat("x", 3971) // one byte over 4000 with the rest of the notification
	tests := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"empty", ``, 21002, "request body is empty; a JSON object is required"},
		{"bad JSON", `{"to":`, 21003, "request body: malformed JSON: the body ends before the value does"},
		{"syntax", `{"to" "all"}`, 21003, `request body: malformed JSON at line 1, column 7: invalid character '"' after object key`},
		{"two values", `{} {}`, 21003, "request body: request body holds more than one JSON value"},
		{"array", `[]`, 21016, "request body: must be a JSON object"},
		{"null", `null`, 21016, "request body: must be a JSON object"},
		{"unknown top", `{"to":"all","body":{},"colour":1}`, 21015, "colour: unexpected parameter"},
		{"case matters", `{"To":"all"}`, 21015, "To: unexpected parameter"},
		{"from type", `{"from":1,"to":"all"}`, 21016, "from: must be a string"},
		{"no to", `{"body":` + nbody("") + `}`, 21002, "to: missing required parameter"},
		{"to null", `{"to":null,"body":` + nbody("") + `}`, 21002, "to: missing required parameter"},
		{"to word", req(`"everyone"`, nbody("")), 21003, `to: must be "all" or an object of targets, got "everyone"`},
		{"to number", req(`5`, nbody("")), 21016, `to: must be "all" or an object`},
		{"to unknown", req(`{"tags":["a"]}`, nbody("")), 21015, "to.tags: unexpected parameter"},
		{"to empty", req(`{}`, nbody("")), 21002, `to: names no target: give "all" or at least one non-empty list`},
		{"to empty arrays", req(`{"tag":[],"alias":[]}`, nbody("")), 21002, `to: names no target: give "all" or at least one non-empty list`},
		{"tag not array", req(`{"tag":"a"}`, nbody("")), 21016, "to.tag: must be an array of strings"},
		{"tag not strings", req(`{"tag":["a",1]}`, nbody("")), 21016, "to.tag[1]: must be a string"},
		{"tag empty", req(`{"tag":["a",""]}`, nbody("")), 21003, "to.tag[1]: must not be empty"},
		{"tag too long", req(`{"tag":["`+strings.Repeat("x", 129)+`"]}`, nbody("")), 21016, "to.tag[0]: is 129 bytes long, at most 128 are allowed"},
		{"tag_not alone", req(`{"tag_not":["a"]}`, nbody("")), 21003, "to.tag_not: cannot be used alone: combine it with registration_id, tag, tag_and or alias"},
		{"tag_and 21", req(`{"tag_and":`+words(21)+`}`, nbody("")), 21016, "to.tag_and: has 21 entries, at most 20 are allowed"},
		{"tag_not 21", req(`{"tag":["a"],"tag_not":`+words(21)+`}`, nbody("")), 21016, "to.tag_not: has 21 entries, at most 20 are allowed"},
		{"registration_id 1001", req(`{"registration_id":`+ids(1001)+`}`, nbody("")), 21016, "to.registration_id: has 1001 entries, at most 1000 are allowed"},
		{"registration_id foreign form", req(`{"registration_id":["4312kjklfds2"]}`, nbody("")), 20101, `to.registration_id[0]: "4312kjklfds2" is not a registration id Herald issued (they start with r_)`},
		{"alias 1001", req(`{"alias":`+words(1001)+`}`, nbody("")), 21016, "to.alias: has 1001 entries, at most 1000 are allowed"},
		{"no body", `{"to":"all"}`, 21002, "body: missing required parameter"},
		{"body array", req(`"all"`, `[]`), 21016, "body: must be an object"},
		{"body unknown", req(`"all"`, `{"platform":"web","notification":`+web+`,"sms":{}}`), 21015, "body.sms: unexpected parameter"},
		{"no platform", req(`"all"`, `{"notification":`+web+`}`), 21002, "body.platform: missing required parameter"},
		{"platform android", req(`"all"`, `{"platform":"android","notification":`+web+`}`), 21003, `body.platform: only "web" is supported, got "android"`},
		{"platform all", req(`"all"`, `{"platform":"all","notification":`+web+`}`), 21003, `body.platform: only "web" is supported, got "all"`},
		{"platform list", req(`"all"`, `{"platform":["web","ios"],"notification":`+web+`}`), 21003, `body.platform: only "web" is supported, got "ios"`},
		{"platform empty list", req(`"all"`, `{"platform":[],"notification":`+web+`}`), 21002, "body.platform: missing required parameter"},
		{"platform number", req(`"all"`, `{"platform":1,"notification":`+web+`}`), 21016, `body.platform: must be "web" or ["web"]`},
		{"neither", req(`"all"`, `{"platform":"web"}`), 21002, "body: missing required parameter: give notification or message"},
		{"no web", req(`"all"`, `{"platform":"web","notification":{"alert":"a"}}`), 21002, "body.notification.web: missing required parameter"},
		{"notification unknown", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a","url":"/"},"android":{}}}`), 21015, "body.notification.android: unexpected parameter"},
		{"no alert", req(`"all"`, `{"platform":"web","notification":{"web":{"url":"/"}}}`), 21002, "body.notification.web.alert: missing required parameter"},
		{"empty alert", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"","url":"/"}}}`), 21002, "body.notification.web.alert: missing required parameter"},
		{"alert number", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":1,"url":"/"}}}`), 21016, "body.notification.web.alert: must be a string or an object"},
		{"alert object unknown", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":{"text":"x"},"url":"/"}}}`), 21015, "body.notification.web.alert.text: unexpected parameter"},
		{"no url", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a"}}}`), 21002, "body.notification.web.url: missing required parameter"},
		{"url number", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a","url":5}}}`), 21016, "body.notification.web.url: must be a string"},
		{"web unknown", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a","url":"/","badge":1}}}`), 21015, "body.notification.web.badge: unexpected parameter"},
		{"extras array", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a","url":"/","extras":[1]}}}`), 21016, "body.notification.web.extras: must be an object"},
		{"title number", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"a","url":"/","title":1}}}`), 21016, "body.notification.web.title: must be a string"},
		{"too large", req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"`+big+`","url":"/"}}}`), 21005, "body: notification and message are 4001 bytes together, at most 4000 are allowed"},
		{"no msg_content", req(`"all"`, `{"platform":"web","message":{"title":"t"}}`), 21002, "body.message.msg_content: missing required parameter"},
		{"msg_content number", req(`"all"`, `{"platform":"web","message":{"msg_content":1}}`), 21016, "body.message.msg_content: must be a string or an object"},
		{"message unknown", req(`"all"`, `{"platform":"web","message":{"msg_content":"x","type":"y"}}`), 21015, "body.message.type: unexpected parameter"},
		{"options array", req(`"all"`, nbody(`[]`)), 21016, "body.options: must be an object"},
		{"options unknown", req(`"all"`, nbody(`{"apns_production":true}`)), 21015, "body.options.apns_production: unexpected parameter"},
		{"ttl word", req(`"all"`, nbody(`{"time_to_live":"a day"}`)), 21003, `body.options.time_to_live: "a day" is not a whole number`},
		{"ttl bool", req(`"all"`, nbody(`{"time_to_live":true}`)), 21016, "body.options.time_to_live: must be an integer or a string holding one"},
		{"ttl negative", req(`"all"`, nbody(`{"time_to_live":-1}`)), 21003, "body.options.time_to_live: must be 0 to 2419200 seconds, got -1"},
		{"ttl too long", req(`"all"`, nbody(`{"time_to_live":2419201}`)), 21003, "body.options.time_to_live: must be 0 to 2419200 seconds, got 2419201"},
		{"ttl fraction", req(`"all"`, nbody(`{"time_to_live":1.5}`)), 21003, `body.options.time_to_live: "1.5" is not a whole number`},
		{"override zero", req(`"all"`, nbody(`{"override_msg_id":0}`)), 21003, "body.options.override_msg_id: must be a msg_id this API returned, got 0"},
		{"big_push 1441", req(`"all"`, nbody(`{"big_push_duration":1441}`)), 23006, "body.options.big_push_duration: must be at most 1440 minutes, got 1441"},
		{"big_push negative", req(`"all"`, nbody(`{"big_push_duration":-1}`)), 21003, "body.options.big_push_duration: must be 0 to 1440 minutes, got -1"},
		{"language unknown", req(`"all"`, nbody(`{"multi_language":{"klingon":{"content":"x"}}}`)), 21003, `body.options.multi_language.klingon: "klingon" is not one of the supported language codes (en, ar, zh-Hans, zh-Hant, …)`},
		{"language field", req(`"all"`, nbody(`{"multi_language":{"en":{"subtitle":"x"}}}`)), 21015, "body.options.multi_language.en.subtitle: unexpected parameter"},
		{"language type", req(`"all"`, nbody(`{"multi_language":{"en":{"content":1}}}`)), 21016, "body.options.multi_language.en.content: must be a string"},
		{"channel empty", req(`"all"`, nbody(`{"third_party_channel":{"w3push":{"distribution":""}}}`)), 27009, `body.options.third_party_channel: must be {"w3push":{"distribution":"<non-empty string>"}}`},
		{"channel no w3push", req(`"all"`, nbody(`{"third_party_channel":{}}`)), 27009, `body.options.third_party_channel: must be {"w3push":{"distribution":"<non-empty string>"}}`},
		{"channel string", req(`"all"`, nbody(`{"third_party_channel":"mtpush"}`)), 27009, `body.options.third_party_channel: must be {"w3push":{"distribution":"<non-empty string>"}}`},
		{"channel without alert", req(`"all"`, `{"platform":"web","message":{"msg_content":"x"},"options":{"third_party_channel":{"w3push":{"distribution":"mtpush"}}}}`), 27008, "body.options.third_party_channel: distribution is set but the notification alert is empty"},
		{"plan_id number", req(`"all"`, nbody(`{"plan_id":5}`)), 21016, "body.options.plan_id: must be a string"},
		{"cid 65", req(`"all"`, nbody(`{"cid":"`+strings.Repeat("c", 65)+`"}`)), 21016, "body.options.cid: is 65 characters long, at most 64 are allowed"},
		{"cid chars", req(`"all"`, nbody(`{"cid":"a b"}`)), 21003, "body.options.cid: may hold only letters, digits, _ and -"},
		{"request_id number", `{"to":"all","body":` + nbody("") + `,"request_id":18}`, 21016, "request_id: must be a string"},
		{"request_id 65", `{"to":"all","body":` + nbody("") + `,"request_id":"` + strings.Repeat("1", 65) + `"}`, 21016, "request_id: is 65 bytes long, at most 64 are allowed"},
		{"custom_args number", `{"to":"all","body":` + nbody("") + `,"custom_args":1}`, 21016, "custom_args: must be an object or a string"},
		{"custom_args big", `{"to":"all","body":` + nbody("") + `,"custom_args":"` + strings.Repeat("x", 4095) + `"}`, 21016, "custom_args: is 4097 bytes, at most 4096 are allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePush([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted %s", tc.body)
			}
			if err.Code != tc.code || err.Message != tc.msg || err.Status != statusOf[tc.code] || err.Status == 0 {
				t.Errorf("got %d %d %q\nwant %d %q", err.Status, err.Code, err.Message, tc.code, tc.msg)
			}
		})
	}
}

// TestDecodeLimitsHold checks each limit's last allowed value passes.
func TestDecodeLimitsHold(t *testing.T) {
	for _, body := range []string{
		req(`{"registration_id":`+ids(1000)+`}`, nbody("")),
		req(`{"tag_and":`+words(20)+`,"tag_not":`+words(20)+`}`, nbody("")),
		req(`"all"`, nbody(`{"big_push_duration":1440,"time_to_live":"2419200","cid":"`+strings.Repeat("c", 64)+`"}`)),
		req(`"all"`, `{"platform":["web"],"notification":{"web":{"alert":"`+strings.Repeat("x", 3970)+`","url":"/"}}}`),
	} {
		if _, err := decodePush([]byte(body)); err != nil {
			t.Errorf("%.200s: %v", body, err)
		}
	}
}

// TestSeedExample decodes the seed's own example and checks what Herald
// makes of it.
func TestSeedExample(t *testing.T) {
	body, err := os.ReadFile("testdata/seed_request.json")
	if err != nil {
		t.Fatal(err)
	}
	p, perr := decodePush(body)
	if perr != nil {
		t.Fatal(perr)
	}
	r, err := p.toSend("")
	if err != nil {
		t.Fatal(err)
	}
	c := r.Content
	if !r.To.All || c.Title != "web_push" || c.Body != "web_push" || c.URL != "http://www.google.com" ||
		c.Extras["web-key1"] != "web-value1" || r.RequestID != "12345678" || string(r.CustomArgs) != `"business info"` ||
		r.TagPrefix != TagPrefix {
		t.Errorf("translated to %+v", r)
	}
}

// TestAlertFallback checks web.alert overrides notification.alert, and
// notification.alert stands in when web has none.
func TestAlertFallback(t *testing.T) {
	for body, want := range map[string]string{
		req(`"all"`, `{"platform":"web","notification":{"alert":"outer","web":{"alert":"inner","url":"/"}}}`):                                   "inner",
		req(`"all"`, `{"platform":"web","notification":{"alert":"outer","web":{"url":"/"}}}`):                                                   "outer",
		req(`"all"`, `{"platform":"web","notification":{"web":{"alert":{"title":"T","body":"B"},"url":"/"}}}`):                                  "B",
		req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"x","url":"/","Extras":{"a":1},"extras":{"a":2,"b":3}}}}`):               "x",
		req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"x","url":"/","icon":"","image":""}},"options":{"cid":""}}`):             "x",
		req(`{"tag":["a"],"tag_and":["b"],"tag_not":["c"],"alias":["d"]}`, `{"platform":"web","notification":{"web":{"alert":"x","url":"/"}}}`): "x",
	} {
		p, err := decodePush([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if p.Notification.Alert != want {
			t.Errorf("%s: alert %q, want %q", body, p.Notification.Alert, want)
		}
	}
	p, _ := decodePush([]byte(req(`"all"`, `{"platform":"web","notification":{"web":{"alert":{"title":"T","body":"B"},"url":"/"}}}`)))
	if p.Notification.Title != "T" {
		t.Errorf("alert object title not used: %+v", p.Notification)
	}
	p, _ = decodePush([]byte(req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"x","url":"/","Extras":{"a":1},"extras":{"a":2,"b":3}}}}`)))
	if fmt.Sprint(p.Notification.Extras) != "map[a:2 b:3]" {
		t.Errorf("extras %v", p.Notification.Extras)
	}
}

// TestMultiLanguage checks the translation of multi_language into
// per-language content and data, with the tags browsers report.
func TestMultiLanguage(t *testing.T) {
	p, err := decodePush([]byte(req(`"all"`, `{"platform":"web","notification":{"web":{"alert":"hello","title":"Hi","url":"/"}},
		"message":{"msg_content":"hello","title":"Hi","content_type":"text"},
		"options":{"multi_language":{"fr":{"content":"bonjour","title":"Salut"},"zh-Hans":{"content":"你好"},"en":{}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	r, serr := p.toSend("")
	if serr != nil {
		t.Fatal(serr)
	}
	l := r.Content.Languages
	if l["fr"].Title != "Salut" || l["fr"].Body != "bonjour" || string(l["fr"].Data) != `{"content_type":"text","msg_content":"bonjour","title":"Salut"}` {
		t.Errorf("fr: %+v %s", l["fr"], l["fr"].Data)
	}
	if l["zh-CN"].Body != "你好" || l["zh"].Body != "你好" || l["zh-Hans"].Body != "你好" || l["zh-TW"].Body != "" {
		t.Errorf("zh: %+v", l)
	}
	if _, ok := l["en"]; ok {
		t.Error("an empty language entry was kept")
	}
	if string(r.Data) != `{"content_type":"text","msg_content":"hello","title":"Hi"}` {
		t.Errorf("data %s", r.Data)
	}
}

// FuzzDecodePush checks the decoder never panics, and that whatever it
// refuses carries a code of the contract's table at that code's status.
func FuzzDecodePush(f *testing.F) {
	seed, _ := os.ReadFile("testdata/seed_request.json")
	f.Add(seed)
	frags, _ := os.ReadDir("testdata/seed_fragments")
	for _, e := range frags {
		if !strings.HasPrefix(e.Name(), "answer_") {
			f.Add([]byte(withFragment(f, e.Name())))
		}
	}
	for _, s := range []string{``, `{}`, `{"to":"all"}`, req(`{"registration_id":["r_a"]}`, nbody(`{"cid":"x","time_to_live":"5","override_msg_id":"7"}`)),
		req(`"all"`, `{"platform":["web"],"message":{"msg_content":{"a":1},"extras":{"k":1}},"options":{"multi_language":{"fr":{"content":"x"}}}}`),
		req(`{"tag":["a"],"tag_not":["b"]}`, `{"platform":"web","notification":{"alert":{"title":"t","body":"b"},"web":{"url":"/"}},"options":{"third_party_channel":{"w3push":{"distribution":"d"}}}}`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePush(body)
		if err != nil {
			if st, ok := statusOf[err.Code]; !ok || st != err.Status || err.Message == "" {
				t.Fatalf("error %+v is not in the table", err)
			}
			return
		}
		if p.Notification == nil && p.Message == nil {
			t.Fatal("accepted a request with neither notification nor message")
		}
		if _, err := p.toSend(""); err != nil {
			t.Fatalf("accepted but cannot translate: %v", err)
		}
	})
}

package delivery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// hmacSigner signs as internal/tracking.Keys does (HMAC-SHA256 of
// "app|msg|rid", 16 bytes, base64url; a pooled HMAC with scratch space),
// without importing it: tracking depends on this package through the API.
type hmacSigner struct{ pool *sync.Pool }

func newSigner(key string) hmacSigner {
	return hmacSigner{pool: &sync.Pool{New: func() any {
		return &scratch{h: hmac.New(sha256.New, []byte(key)), in: make([]byte, 0, 128), sum: make([]byte, 0, 32)}
	}}}
}

type scratch struct {
	h       hash.Hash
	in, sum []byte
}

func (s hmacSigner) AppendSig(dst []byte, appID string, msgID int64, rid string) []byte {
	sc := s.pool.Get().(*scratch)
	sc.in = append(append(sc.in[:0], appID...), '|')
	sc.in = append(append(strconv.AppendInt(sc.in, msgID, 10), '|'), rid...)
	sc.h.Reset()
	sc.h.Write(sc.in)
	sc.sum = sc.h.Sum(sc.sum[:0])
	dst = base64.RawURLEncoding.AppendEncode(dst, sc.sum[:16])
	s.pool.Put(sc)
	return dst
}

func TestPayloadForAddsTrackingFields(t *testing.T) {
	s := newSigner("k")
	c := Content{Title: "Hi", Body: "there", URL: "https://example.test/", Data: json.RawMessage(`{"a":1}`)}
	plain, err := c.Payload(7, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PayloadFor(7, "", "app1", "r_abc-DEF_123", s)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatalf("payload %s is not JSON: %v", got, err)
	}
	want := string(s.AppendSig(nil, "app1", 7, "r_abc-DEF_123"))
	if p["rid"] != "r_abc-DEF_123" || p["sig"] != want || p["id"] != "7" || p["title"] != "Hi" {
		t.Fatalf("payload %s: want rid, sig %q and the content", got, want)
	}
	if !bytes.HasPrefix(got, plain[:len(plain)-1]) {
		t.Fatalf("the tracked payload %s does not extend the plain one %s", got, plain)
	}
}

func TestWithRecipientLeavesPayloadAlone(t *testing.T) {
	s := newSigner("k")
	big := `{"id":"1","body":"` + strings.Repeat("x", webpush.MaxPlaintext-40) + `"}`
	tests := []struct {
		name, payload, rid string
		same               bool
	}{
		{"tracked", `{"id":"1"}`, "r_x", false},
		{"empty object", `{}`, "r_x", false},
		{"not an object (raw)", `"hello"`, "r_x", true},
		{"id needing escapes", `{"id":"1"}`, `r_"x`, true},
		{"empty id", `{"id":"1"}`, "", true},
		{"overlong id", `{"id":"1"}`, strings.Repeat("r", maxTrackedID+1), true},
		{"would not fit in a push", big, "r_x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.payload)
			orig := bytes.Clone(in)
			got := withRecipient(in, "a", 1, tc.rid, s)
			if !bytes.Equal(in, orig) {
				t.Fatalf("the shared payload was changed: %s", in)
			}
			if tc.same {
				if !bytes.Equal(got, in) {
					t.Fatalf("got %s, want the payload unchanged", got)
				}
				return
			}
			var p map[string]any
			if err := json.Unmarshal(got, &p); err != nil || p["rid"] != tc.rid || p["sig"] == "" {
				t.Fatalf("got %s (%v), want rid %q and a sig", got, err, tc.rid)
			}
		})
	}
}

func TestRawPayloadIsNotTracked(t *testing.T) {
	c := Content{Raw: json.RawMessage(`{"site":"own"}`)}
	got, err := c.PayloadFor(1, "", "a", "r_x", newSigner("k"))
	if err != nil || string(got) != `{"site":"own"}` {
		t.Fatalf("got %s, %v; want the raw payload as it is", got, err)
	}
}

func TestPayloadCachePerRecipient(t *testing.T) {
	s := newSigner("k")
	pc := &payloadCache{c: Content{Title: "t", Languages: map[string]Localized{"fa": {Title: "ت"}}}, id: 3, appID: "a", sign: s}
	one, _ := pc.forRecipient(store.Subscriber{RegistrationID: "r_1", Language: "fa"})
	two, _ := pc.forRecipient(store.Subscriber{RegistrationID: "r_2", Language: "fa"})
	var p1, p2 map[string]string
	if json.Unmarshal(one, &p1) != nil || json.Unmarshal(two, &p2) != nil {
		t.Fatalf("payloads %s, %s", one, two)
	}
	if p1["rid"] != "r_1" || p2["rid"] != "r_2" || p1["sig"] == p2["sig"] || p1["title"] != "ت" {
		t.Fatalf("payloads %s, %s: want each its own rid and sig, in its language", one, two)
	}
	if len(pc.by) != 1 {
		t.Fatalf("cache holds %d payloads, want 1 (per language, not per recipient)", len(pc.by))
	}
	untracked := &payloadCache{c: Content{Title: "t"}, id: 3}
	b, _ := untracked.forRecipient(store.Subscriber{RegistrationID: "r_1"})
	if bytes.Contains(b, []byte(`"rid"`)) {
		t.Fatalf("no signer, yet the payload is tracked: %s", b)
	}
}

// BenchmarkPayloadForRecipient is the per-recipient cost of the payload
// on the delivery hot path, without and with tracking fields (signed as
// internal/tracking does).
func BenchmarkPayloadForRecipient(b *testing.B) {
	c := Content{Title: "Hello from Herald", Body: "A notification body of a typical length, about eighty bytes.", URL: "https://example.test/articles/12345"}
	sub := store.Subscriber{RegistrationID: "r_" + strings.Repeat("x", 22), Language: "en"}
	b.Run("untracked", func(b *testing.B) {
		pc := &payloadCache{c: c, id: 123456}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pc.forRecipient(sub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tracked", func(b *testing.B) {
		pc := &payloadCache{c: c, id: 123456, appID: "app_0123456789abcdef", sign: newSigner("0123456789abcdef0123456789abcdef")}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pc.forRecipient(sub); err != nil {
				b.Fatal(err)
			}
		}
	})
}

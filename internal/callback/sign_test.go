package callback

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The vector was computed outside Go (Python's hmac module):
// hmac.new(b"whsec_test", b'1700000000.{"app_id":"app_x","events":[]}', sha256).
func TestSignMatchesIndependentVector(t *testing.T) {
	body := []byte(`{"app_id":"app_x","events":[]}`)
	got := Sign([]byte("whsec_test"), time.Unix(1700000000, 0), body)
	want := "t=1700000000,v1=099a3206c375540b16e84e867b206359a6bcabbe3a0275474352188bdb0ccbe1"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	key := []byte("whsec_key")
	body := []byte(`{"events":[{"id":"evt_1"}]}`)
	at := time.Unix(1_800_000_000, 0)
	sig := Sign(key, at, body)
	_, v1, _ := strings.Cut(sig, ",")
	cases := []struct {
		name   string
		key    []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", key, sig, body, at, nil},
		{"valid within tolerance", key, sig, body, at.Add(4 * time.Minute), nil},
		{"second of two signatures", key, "t=1800000000,v1=" + strings.Repeat("00", 32) + "," + v1, body, at, nil},
		{"body changed", key, sig, []byte(`{"events":[{"id":"evt_2"}]}`), at, ErrBadSignature},
		{"other secret", []byte("whsec_other"), sig, body, at, ErrBadSignature},
		{"timestamp replaced", key, strings.Replace(sig, "t=1800000000", "t=1800000060", 1), body, at, ErrBadSignature},
		{"too old (replay)", key, sig, body, at.Add(6 * time.Minute), ErrStale},
		{"from the future", key, sig, body, at.Add(-6 * time.Minute), ErrStale},
		{"no v1", key, "t=1800000000", body, at, ErrMalformed},
		{"no t", key, v1, body, at, ErrMalformed},
		{"not hex", key, "t=1800000000,v1=zz", body, at, ErrMalformed},
		{"garbage", key, "sha256=abc", body, at, ErrMalformed},
		{"empty", key, "", body, at, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.key, c.header, c.body, c.now, 0)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func FuzzVerifyNeverAcceptsAForgery(f *testing.F) {
	f.Add("t=1800000000,v1=00", []byte("{}"))
	key := []byte("whsec_fuzz")
	at := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if Verify(key, header, body, at, 0) == nil && header != Sign(key, at, body) && !strings.Contains(header, Sign(key, at, body)[len("t=1800000000,"):]) {
			t.Fatalf("accepted %q for %q", header, body)
		}
	})
}

package callback_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/callback"
)

// verify is the receiver's check exactly as docs/api.md prints it: written
// without this package, so that the example keeps the document true.
func verify(secret []byte, header string, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || math.Abs(time.Since(time.Unix(sec, 0)).Seconds()) > 300 {
		return false // missing or more than five minutes off: maybe a replay
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	got, err := hex.DecodeString(sig)
	return err == nil && hmac.Equal(got, mac.Sum(nil))
}

func ExampleSign() {
	secret := []byte("whsec_example")
	body := []byte(`{"app_id":"app_1","events":[]}`)
	header := callback.Sign(secret, time.Now(), body)
	fmt.Println(verify(secret, header, body))
	fmt.Println(verify(secret, header, []byte(`{"app_id":"app_2","events":[]}`)))
	fmt.Println(verify(secret, callback.Sign(secret, time.Now().Add(-time.Hour), body), body))
	// Output:
	// true
	// false
	// false
}

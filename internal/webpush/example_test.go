package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// A push to one browser: a push service on loopback stands in for FCM or
// Mozilla's autopush.
func ExampleSend() {
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	defer ps.Close()

	// What the browser's PushSubscription.toJSON() holds.
	uaKey, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	sub := webpush.Subscription{
		Endpoint: ps.URL + "/push/abc",
		Keys:     webpush.Keys{P256DH: uaKey.PublicKey().Bytes(), Auth: auth},
	}

	key, _ := webpush.GenerateVAPIDKey() // load it with VAPIDKeyFromBytes in production
	signer := webpush.NewSigner(key, "mailto:ops@example.com", time.Now)

	res, err := webpush.Send(context.Background(), ps.Client(), sub, webpush.Message{
		Payload: []byte(`{"title":"Hello"}`),
		TTL:     time.Hour,
		Urgency: webpush.UrgencyNormal,
	}, signer)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Outcome, res.Status)
	// Output: delivered 201
}

// A fake push service checks what Herald sends the way a browser and a
// real push service would.
func ExampleDecrypt() {
	uaKey, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)

	body, _ := webpush.Encrypt([]byte("hello"), uaKey.PublicKey(), auth, webpush.EncryptOptions{})
	plain, err := webpush.Decrypt(body, uaKey, auth)
	fmt.Println(string(plain), len(body), err)
	// Output: hello 108 <nil>
}

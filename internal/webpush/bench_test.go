package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
	"time"
)

// payload200 is a typical notification: a title, a body and a URL.
func payload200() []byte {
	p := []byte(`{"title":"Your order has shipped","body":"Order #48213 left our warehouse and should arrive on Thursday.","url":"https://shop.example.com/orders/48213","tag":"order-48213"}`)
	for len(p) < 200 {
		p = append(p, ' ')
	}
	return p[:200]
}

func BenchmarkEncrypt(b *testing.B) {
	ua := newUserAgent(b)
	pub := ua.priv.PublicKey()
	msg := payload200()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(msg, pub, ua.auth, EncryptOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPerRecipientFloor is the cryptography every recipient costs
// however the code around it is written: a fresh server key, ECDH, the
// HKDF schedule and one AES-GCM seal.
func BenchmarkPerRecipientFloor(b *testing.B) {
	ua := newUserAgent(b)
	uaPub := ua.priv.PublicKey()
	uaBytes := uaPub.Bytes()
	msg := payload200()
	salt := make([]byte, saltLen)
	buf := make([]byte, 0, len(msg)+1+tagLen)
	b.ReportAllocs()
	for b.Loop() {
		as, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		secret, err := as.ECDH(uaPub)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = rand.Read(salt)
		aead, nonce, err := deriveAEAD(secret, ua.auth, uaBytes, as.PublicKey().Bytes(), salt)
		if err != nil {
			b.Fatal(err)
		}
		buf = append(append(buf[:0], msg...), 2)
		aead.Seal(buf[:0], nonce, buf, nil)
	}
}

// benchSigner uses the real clock: the test clock's mutex would be the
// bottleneck of the parallel benchmark.
func benchSigner(b *testing.B) *Signer {
	key, err := GenerateVAPIDKey()
	if err != nil {
		b.Fatal(err)
	}
	return NewSigner(key, "mailto:ops@example.com", time.Now)
}

func BenchmarkSignerHeader(b *testing.B) {
	s := benchSigner(b)
	const ep = "https://fcm.googleapis.com/fcm/send/dGVzdC1zdWJzY3JpcHRpb24tdG9rZW4:APA91bH"
	if _, err := s.Header(ep); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Header(ep); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignerHeaderParallel(b *testing.B) {
	s := benchSigner(b)
	const ep = "https://fcm.googleapis.com/fcm/send/dGVzdC1zdWJzY3JpcHRpb24tdG9rZW4:APA91bH"
	if _, err := s.Header(ep); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Header(ep); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignerSign is what every message would cost without the cache.
func BenchmarkSignerSign(b *testing.B) {
	s, _, _ := newTestSigner(b, "mailto:ops@example.com")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.sign("https://fcm.googleapis.com", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRequest is the whole per-recipient cost before the network:
// key parsing, encryption, headers and the cached VAPID header.
func BenchmarkNewRequest(b *testing.B) {
	ua := newUserAgent(b)
	s, _, _ := newTestSigner(b, "mailto:ops@example.com")
	sub := Subscription{Endpoint: "https://fcm.googleapis.com/fcm/send/abc:def", Keys: ua.keys()}
	m := Message{Payload: payload200(), TTL: time.Hour, Urgency: UrgencyNormal}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRequest(ctx, sub, m, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	ua := newUserAgent(b)
	body, err := Encrypt(payload200(), ua.priv.PublicKey(), ua.auth, EncryptOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(body, ua.priv, ua.auth); err != nil {
			b.Fatal(err)
		}
	}
}

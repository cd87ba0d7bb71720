package webpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Urgency is the RFC 8030 section 5.3 hint that lets a user agent save
// battery by waking up only for urgent messages.
type Urgency string

// The urgencies RFC 8030 defines. The empty Urgency sends no header,
// which push services treat as UrgencyNormal.
const (
	UrgencyVeryLow Urgency = "very-low"
	UrgencyLow     Urgency = "low"
	UrgencyNormal  Urgency = "normal"
	UrgencyHigh    Urgency = "high"
)

// MaxTopicLen is the longest Topic RFC 8030 section 5.4 allows.
const MaxTopicLen = 32

// Message is one push message, before encryption.
type Message struct {
	// Payload is encrypted into the body; empty sends a push without data.
	// At most MaxPlaintext bytes.
	Payload []byte
	// TTL is how long the push service keeps an undelivered message. It
	// is sent in whole seconds, rounded down; 0 means deliver now or drop.
	TTL time.Duration
	// Urgency is optional.
	Urgency Urgency
	// Topic, optional, makes this message replace a pending one with the
	// same topic. At most 32 characters of the base64url alphabet.
	Topic string
}

// Subscription is where and how to push to one browser, as
// PushSubscription.toJSON gives it.
type Subscription struct {
	Endpoint string
	Keys     Keys
}

// LogValue keeps the endpoint's path (a per-user capability) and the keys
// out of logs.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", redactEndpoint(s.Endpoint)), slog.Any("keys", s.Keys))
}

// NewRequest builds the RFC 8030 POST for m: it encrypts the payload for
// sub, and sets Content-Encoding, Content-Type, TTL, Urgency, Topic and,
// when signer is not nil, the VAPID Authorization header. A request whose
// body would exceed MaxPayload fails with ErrPayloadTooLarge.
func NewRequest(ctx context.Context, sub Subscription, m Message, signer *Signer) (*http.Request, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var body []byte
	if len(m.Payload) > 0 {
		if len(m.Payload) > MaxPlaintext {
			return nil, fmt.Errorf("%w: %d bytes, at most %d fit", ErrPayloadTooLarge, len(m.Payload), MaxPlaintext)
		}
		pub, err := ParseP256DH(sub.Keys.P256DH)
		if err != nil {
			return nil, err
		}
		if body, err = Encrypt(m.Payload, pub, sub.Keys.Auth, EncryptOptions{}); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webpush: request: %w", redactURLError(err))
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return nil, fmt.Errorf("webpush: endpoint %s is not http(s)", redactEndpoint(sub.Endpoint))
	}
	// The header is built for this one request: its values share one
	// backing array and its keys are already canonical ("TTL" is "Ttl").
	h := make(http.Header, 6)
	vals := make([]string, 0, 6)
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if body != nil {
		set("Content-Encoding", "aes128gcm")
		set("Content-Type", "application/octet-stream")
	}
	set("Ttl", strconv.FormatInt(int64(m.TTL/time.Second), 10))
	if m.Urgency != "" {
		set("Urgency", string(m.Urgency))
	}
	if m.Topic != "" {
		set("Topic", m.Topic)
	}
	if signer != nil {
		auth, err := signer.Header(sub.Endpoint)
		if err != nil {
			return nil, err
		}
		set("Authorization", auth)
	}
	req.Header = h
	return req, nil
}

func (m Message) validate() error {
	if m.TTL < 0 {
		return fmt.Errorf("webpush: negative TTL %s", m.TTL)
	}
	switch m.Urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return fmt.Errorf("webpush: urgency %q is not very-low, low, normal or high", m.Urgency)
	}
	if len(m.Topic) > MaxTopicLen {
		return fmt.Errorf("webpush: topic is %d characters, at most %d allowed", len(m.Topic), MaxTopicLen)
	}
	for i := 0; i < len(m.Topic); i++ {
		if c := m.Topic[i]; !isBase64URL(c) {
			return fmt.Errorf("webpush: topic has %q at %d, only base64url characters allowed", c, i)
		}
	}
	return nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// Outcome is what a push service's answer means for the sender.
type Outcome int

// The zero Outcome is Failed, so a Result nobody filled in is never taken
// for a delivery.
const (
	// Failed: the push service refused the request (a 4xx other than those
	// below, or a redirect). Retrying the same request will not help.
	Failed Outcome = iota
	// Delivered: the push service accepted the message (2xx).
	Delivered
	// Gone: the subscription no longer exists (404 or 410); prune it.
	Gone
	// TooLarge: the body was over the push service's limit (413).
	TooLarge
	// RateLimited: too many requests (429); retry after Result.RetryAfter.
	RateLimited
	// Retry: the push service failed (5xx) or could not be reached; retry
	// with backoff, no sooner than Result.RetryAfter if it is set.
	Retry
)

// String names the outcome for logs.
func (o Outcome) String() string {
	switch o {
	case Failed:
		return "failed"
	case Delivered:
		return "delivered"
	case Gone:
		return "gone"
	case TooLarge:
		return "too_large"
	case RateLimited:
		return "rate_limited"
	case Retry:
		return "retry"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Retryable reports whether sending the same message again later may work.
func (o Outcome) Retryable() bool { return o == RateLimited || o == Retry }

// Result is a classified push-service response.
type Result struct {
	// Status is the HTTP status code, 0 if no response came back.
	Status int
	// Outcome says what to do next.
	Outcome Outcome
	// RetryAfter is the wait the push service asked for (Retry-After), 0
	// if it gave none.
	RetryAfter time.Duration
	// Reason is a short human-readable cause, for logs.
	Reason string
}

// Classify maps a push-service response to an Outcome (RFC 8030 sections
// 5 and 8.4). It reads only the status and headers: it neither reads nor
// closes resp.Body, which stays the caller's to drain and close. now is
// used to turn an HTTP-date Retry-After into a duration.
func Classify(resp *http.Response, now time.Time) Result {
	r := Result{Status: resp.StatusCode, Reason: strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		r.Outcome = Delivered
	case c == http.StatusNotFound || c == http.StatusGone:
		r.Outcome = Gone
	case c == http.StatusRequestEntityTooLarge:
		r.Outcome = TooLarge
	case c == http.StatusTooManyRequests:
		r.Outcome = RateLimited
		r.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	case c >= 500:
		r.Outcome = Retry
		r.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	default:
		r.Outcome = Failed
	}
	return r
}

// MaxRetryAfter caps what a push service can make us wait, so a bogus
// header cannot park a message for years.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter parses a Retry-After value (RFC 9110 section 10.2.3): either
// delay-seconds or an HTTP-date. Anything unparsable, or a date in the
// past, gives 0.
//
// FCM and APNs answers are read with it too; the cap is MaxRetryAfter.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		d = MaxRetryAfter
		if n < uint64(MaxRetryAfter/time.Second) {
			d = time.Duration(n) * time.Second
		}
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

const (
	// maxDrain bounds how much of a response body Send reads to let the
	// connection be reused; past it, closing is cheaper than reading.
	maxDrain = 64 << 10
	// maxReason bounds the bytes of an error body kept in Result.Reason.
	maxReason = 200
)

// Doer sends one request and returns its response: an *http.Client, or
// anything that sends the request as it is (a push service never
// redirects, so a transport's RoundTrip serves without a Client).
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Send builds the request for m with NewRequest, sends it with c and
// classifies the response. It reads a bounded amount of the body (the
// start of it goes into Result.Reason when the push was not delivered)
// and closes it, so c can reuse the connection.
//
// The error is non-nil only when no response was classified. Result still
// says what to do: TooLarge for ErrPayloadTooLarge, Retry when the push
// service could not be reached, Failed when the request could not be
// built (bad keys, endpoint or message).
func Send(ctx context.Context, c Doer, sub Subscription, m Message, signer *Signer) (Result, error) {
	if c == nil {
		return Result{Outcome: Failed, Reason: "no http client"}, errors.New("webpush: send: nil http client")
	}
	req, err := NewRequest(ctx, sub, m, signer)
	if err != nil {
		r := Result{Outcome: Failed, Reason: err.Error()}
		if errors.Is(err, ErrPayloadTooLarge) {
			r.Outcome = TooLarge
		}
		return r, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Result{Outcome: Retry, Reason: "push service unreachable"}, fmt.Errorf("webpush: send: %w", redactURLError(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	now := time.Now
	if signer != nil {
		now = signer.now
	}
	r := Classify(resp, now())
	if r.Outcome != Delivered {
		var buf [maxReason]byte
		n, _ := io.ReadFull(resp.Body, buf[:])
		if detail := printable(buf[:n]); detail != "" {
			r.Reason += ": " + detail
		}
	}
	return r, nil
}

// redactURLError trims the URL net/http puts in its errors to the
// endpoint's origin: the path is a capability for the subscriber and
// must not reach logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactEndpoint(ue.URL)
	}
	return err
}

// printable keeps the printable ASCII of b with runs of spaces collapsed,
// so a push service's error body is safe to put in a log line.
func printable(b []byte) string {
	var sb strings.Builder
	space := false
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			space = sb.Len() > 0
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

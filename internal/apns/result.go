package apns

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// Outcome is what an APNs answer means for the sender.
type Outcome int

// The zero Outcome is Failed, so a Result nobody filled in is never taken
// for a delivery.
const (
	// Failed: APNs refused the request for a reason retrying will not fix
	// (a bad topic, provider token or payload). Result.Reason says which.
	Failed Outcome = iota
	// Delivered: APNs accepted the notification (200).
	Delivered
	// Gone: the device token is dead or not this app's (410, or 400
	// BadDeviceToken / DeviceTokenNotForTopic); prune it.
	Gone
	// Retry: APNs was busy or failing (429, 5xx), could not be reached, or
	// kept calling a fresh provider token expired; try again later, no
	// sooner than Result.RetryAfter if it is set.
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
	case Retry:
		return "retry"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is a classified APNs answer.
type Result struct {
	// Status is the HTTP status, 0 if no answer came back.
	Status int
	// Outcome says what to do next.
	Outcome Outcome
	// Reason is short and stable, fit to count by: Apple's reason string
	// ("BadDeviceToken", "TooManyRequests", ...) when APNs gave a known
	// one, "http <status>" when it gave another, and for failures before
	// an answer "unreachable", "timeout", "PayloadTooLarge",
	// "BadDeviceToken", "bad notification" or "provider token". Empty when
	// Delivered.
	Reason string
	// RetryAfter is the wait APNs asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// ID is the apns-id APNs answered with.
	ID string
	// Unregistered is when APNs last knew the token to be valid, from a
	// 410's timestamp; zero otherwise.
	Unregistered time.Time
}

// reasons are the reason strings APNs documents ("Handling notification
// responses from APNs"). Only these go into Result.Reason verbatim, so an
// odd answer cannot add unbounded values to counters keyed by reason.
var reasons = map[string]bool{
	"BadCollapseId": true, "BadDeviceToken": true, "BadExpirationDate": true,
	"BadMessageId": true, "BadPriority": true, "BadTopic": true,
	"DeviceTokenNotForTopic": true, "DuplicateHeaders": true, "IdleTimeout": true,
	"InvalidPushType": true, "MissingDeviceToken": true, "MissingTopic": true,
	"PayloadEmpty": true, "TopicDisallowed": true, "BadCertificate": true,
	"BadCertificateEnvironment": true, "ExpiredProviderToken": true, "Forbidden": true,
	"InvalidProviderToken": true, "MissingProviderToken": true, "UnrelatedKeyIdInToken": true,
	"BadEnvironmentKeyIdInToken": true, "BadPath": true, "MethodNotAllowed": true,
	"ExpiredToken": true, "Unregistered": true, "PayloadTooLarge": true,
	"TooManyProviderTokenUpdates": true, "TooManyRequests": true,
	"InternalServerError": true, "ServiceUnavailable": true, "Shutdown": true,
}

// errorBody is APNs' answer to a refused notification.
type errorBody struct {
	Reason    string `json:"reason"`
	Timestamp int64  `json:"timestamp"` // ms since the epoch, with 410
}

// classify maps an answer (status, headers and up to a few KiB of body) to
// a Result. now turns an HTTP-date Retry-After into a wait.
func classify(status int, h http.Header, body []byte, now time.Time) Result {
	r := Result{Status: status, ID: h.Get("apns-id")}
	if status == http.StatusOK {
		r.Outcome = Delivered
		return r
	}
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // a body that is not APNs' JSON leaves eb empty
	r.Reason = "http " + strconv.Itoa(status)
	if reasons[eb.Reason] {
		r.Reason = eb.Reason
	}
	switch {
	case status == http.StatusGone:
		r.Outcome = Gone
		if eb.Timestamp > 0 {
			r.Unregistered = time.UnixMilli(eb.Timestamp)
		}
	case status == http.StatusBadRequest && (eb.Reason == "BadDeviceToken" || eb.Reason == "DeviceTokenNotForTopic"):
		r.Outcome = Gone
	case status == http.StatusTooManyRequests || status >= 500:
		r.Outcome = Retry
		r.RetryAfter = webpush.RetryAfter(h.Get("Retry-After"), now)
	default:
		r.Outcome = Failed
	}
	return r
}

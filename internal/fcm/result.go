package fcm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// Outcome is what FCM's answer means for the sender.
type Outcome int

// The zero Outcome is Failed, so a Result nobody filled in is never taken
// for a delivery.
const (
	// Failed: FCM refused the message as it is (INVALID_ARGUMENT,
	// SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR, another 4xx, or the
	// token endpoint refused the account). Do not retry.
	Failed Outcome = iota
	// Delivered: FCM accepted the message.
	Delivered
	// Gone: the registration token is no longer valid (UNREGISTERED, or
	// a NOT_FOUND error); prune it.
	Gone
	// Retry: FCM or the token endpoint is overloaded, failing or
	// unreachable; try again later, after Result.RetryAfter if set.
	Retry
)

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
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// FCM's error codes (google.firebase.fcm.v1.FcmError), used as
// Result.Reason when FCM names one.
const (
	CodeUnregistered        = "UNREGISTERED"
	CodeInvalidArgument     = "INVALID_ARGUMENT"
	CodeSenderIDMismatch    = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
	CodeThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR"
)

// Result is a classified answer.
type Result struct {
	// Outcome says what to do next.
	Outcome Outcome
	// Status is FCM's HTTP status, 0 if FCM gave no answer.
	Status int
	// Reason is a short stable cause, empty when delivered: an FCM error
	// code ("UNREGISTERED", "QUOTA_EXCEEDED"), a Google API status when
	// FCM named no code ("NOT_FOUND", "UNAUTHENTICATED"), "http 503" for
	// an answer with neither, or one of "invalid message", "unreachable",
	// "timeout", "cancelled", "token unreachable", "token http N",
	// "token rejected". It never carries ids, so it can be counted.
	Reason string
	// RetryAfter is the wait FCM asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// Name is FCM's id for a delivered message
	// ("projects/p/messages/0:1500415314455276%31bd1c9631bd1c96").
	Name string
	// Detail is FCM's error message, shortened, for logs only.
	Detail string
}

const (
	// maxRetryAfter caps a Retry-After (webpush.RetryAfter applies it).
	maxRetryAfter = webpush.MaxRetryAfter
	// maxDetail bounds Result.Detail.
	maxDetail = 200
)

// classify maps an FCM answer to a Result: FCM's error code first, then
// the Google API status, then the HTTP status. A bare 404 with no Google
// error body (a proxy, a wrong BaseURL) fails rather than prunes: only
// FCM's word that a token is gone deletes a subscriber.
func classify(status int, h http.Header, body []byte, now time.Time) Result {
	r := Result{Status: status}
	if status >= 200 && status < 300 {
		r.Outcome = Delivered
		r.Name = parseSendAnswer(body)
		return r
	}
	var e errorAnswer
	_ = json.Unmarshal(body, &e)
	r.Detail = shorten(e.Error.Message)
	code := ""
	for _, d := range e.Error.Details {
		if strings.HasSuffix(d.Type, "google.firebase.fcm.v1.FcmError") && d.ErrorCode != "" {
			code = d.ErrorCode
			break
		}
	}
	switch code {
	case CodeUnregistered:
		r.Outcome, r.Reason = Gone, code
	case CodeInvalidArgument, CodeSenderIDMismatch, CodeThirdPartyAuthError:
		r.Outcome, r.Reason = Failed, code
	case CodeQuotaExceeded, CodeUnavailable, CodeInternal:
		r.Outcome, r.Reason = Retry, code
	default: // none, UNSPECIFIED_ERROR or a code newer than this file
		r.Outcome, r.Reason = byStatus(status, e.Error.Status)
	}
	if r.Outcome == Retry {
		r.RetryAfter = webpush.RetryAfter(h.Get("Retry-After"), now)
	}
	return r
}

// byStatus classifies by the Google API status (google.rpc.Code name),
// or by the HTTP status when there is none it knows.
func byStatus(status int, rpc string) (Outcome, string) {
	switch rpc {
	case "NOT_FOUND":
		return Gone, rpc
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "PERMISSION_DENIED", "UNAUTHENTICATED", "OUT_OF_RANGE":
		return Failed, rpc
	case "RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED":
		return Retry, rpc
	}
	reason := "http " + strconv.Itoa(status)
	if status == http.StatusTooManyRequests || status >= 500 {
		return Retry, reason
	}
	return Failed, reason
}

func shorten(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	return s[:maxDetail] + "…"
}

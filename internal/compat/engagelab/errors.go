package engagelab

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an EngageLab error answer: {"code":N,"message":"…"} with the
// HTTP status the contract's table gives the code.
type Error struct {
	Status  int    `json:"-"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// The codes of the contract's table (seed 003). Each has one HTTP status,
// in statusOf. 21009 is never sent: it is documented as an internal error
// answered with 400, which tells clients not to retry; Herald answers its
// own faults with 27000 (500) or, on a timeout, 21030 (503).
const (
	CodeBadRegistrationID = 20101 // registration_id not of Herald's form
	CodeMethod            = 21001 // only POST
	CodeMissing           = 21002 // a required parameter is missing
	CodeInvalid           = 21003 // a parameter has a bad value
	CodeAuthFailed        = 21004 // credentials match no app
	CodeTooLarge          = 21005 // notification + message over 4000 bytes
	CodeBadAppKey         = 21008 // AppKey not of EngageLab's form
	CodeInternal          = 21009 // documented, never sent (see above)
	CodeNoTarget          = 21011 // the target matches no device
	CodeUnexpected        = 21015 // an unknown field
	CodeWrongType         = 21016 // wrong type, or longer than the limit
	CodeTimeout           = 21030 // the store did not answer in time
	CodeSpreadTooLong     = 23006 // big_push_duration over 1440
	CodeRateLimited       = 23008 // over 500 requests per second
	CodeServerFault       = 27000 // any other server fault; retry
	CodeAuthEmpty         = 27001 // no credentials
	CodeChannelNoAlert    = 27008 // third_party_channel without an alert
	CodeChannelMalformed  = 27009 // third_party_channel malformed
)

// RateLimitStatus is the HTTP status of 23008. The contract documents
// 400; Herald answers 429 with Retry-After, which HTTP clients and
// retrying libraries understand, and keeps EngageLab's code in the body.
const RateLimitStatus = http.StatusTooManyRequests

// statusOf is the contract's table: code → HTTP status.
var statusOf = map[int]int{
	CodeBadRegistrationID: 400,
	CodeMethod:            405,
	CodeMissing:           400,
	CodeInvalid:           400,
	CodeAuthFailed:        401,
	CodeTooLarge:          400,
	CodeBadAppKey:         400,
	CodeInternal:          400,
	CodeNoTarget:          400,
	CodeUnexpected:        400,
	CodeWrongType:         400,
	CodeTimeout:           503,
	CodeSpreadTooLong:     400,
	CodeRateLimited:       RateLimitStatus,
	CodeServerFault:       500,
	CodeAuthEmpty:         401,
	CodeChannelNoAlert:    401,
	CodeChannelMalformed:  401,
}

// fail returns the error with code and a formatted message, at the status
// the table gives the code.
func fail(code int, format string, args ...any) *Error {
	return &Error{Status: statusOf[code], Code: code, Message: fmt.Sprintf(format, args...)}
}

// The recurring messages, so that every field says the same thing.
func missing(path string) *Error { return fail(CodeMissing, "%s: missing required parameter", path) }

func unexpected(path string) *Error { return fail(CodeUnexpected, "%s: unexpected parameter", path) }

func wrongType(path, want string) *Error {
	return fail(CodeWrongType, "%s: must be %s", path, want)
}

func tooLong(path string, n, max int, unit string) *Error {
	return fail(CodeWrongType, "%s: has %d %s, at most %d are allowed", path, n, unit, max)
}

func invalid(path, format string, args ...any) *Error {
	return fail(CodeInvalid, "%s: %s", path, fmt.Sprintf(format, args...))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

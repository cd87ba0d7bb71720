package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
)

// Error is an API error with a stable code. Codes are documented in
// docs/api.md and never change meaning.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The error codes.
const (
	CodeBadJSON          = "bad_json"
	CodeEmptyBody        = "empty_body"
	CodeUnknownField     = "unknown_field"
	CodeWrongType        = "wrong_type"
	CodeBodyTooLarge     = "body_too_large"
	CodeInvalidField     = "invalid_field"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInternal         = "internal"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

// asError turns any error a handler returns into an *Error.
func asError(err error) (e *Error, internal bool) {
	var ae *Error
	var p *jsonreq.Problem
	var fe *jsonreq.FieldError
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &p):
		code, status := CodeBadJSON, http.StatusBadRequest
		switch p.Kind {
		case jsonreq.KindEmpty:
			code = CodeEmptyBody
		case jsonreq.KindUnknownField:
			code = CodeUnknownField
		case jsonreq.KindType:
			code = CodeWrongType
		case jsonreq.KindTooLarge:
			code, status = CodeBodyTooLarge, http.StatusRequestEntityTooLarge
		}
		return &Error{Status: status, Code: code, Message: p.Message, Field: p.Field}, false
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidField, Message: fe.Error(), Field: fe.Field}, false
	case errors.Is(err, registry.ErrNotFound):
		return notFound("subscriber"), false
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; the server log has the cause"}, true
}

// WriteError renders err as JSON, logging internal errors with their cause.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e, internal := asError(err)
	if internal {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, ErrorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

package h2client

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// ErrBodyTruncated is what Response.Body's Read returns after the first
// Options.MaxResponseBody bytes of a longer body.
var ErrBodyTruncated = errors.New("h2client: response body over the size limit, truncated")

// response builds the http.Response of an answered stream.
func (s *stream) response() *http.Response {
	r := &http.Response{
		Status:     statusLine(s.status),
		StatusCode: s.status,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     headerOf(s.fields),
		Request:    s.req,
		TLS:        &s.c.tlsState,
	}
	if s.trailer != nil {
		r.Trailer = headerOf(s.trailer)
	}
	switch {
	case s.truncated:
		r.ContentLength = -1
		r.Body = &body{b: s.buf, err: ErrBodyTruncated}
	case len(s.buf) == 0:
		r.Body = http.NoBody
	default:
		r.ContentLength = int64(len(s.buf))
		r.Body = &body{b: s.buf, err: io.EOF}
	}
	return r
}

// statusLine is Response.Status; the answers push services give most
// cost no allocation.
func statusLine(code int) string {
	switch code {
	case http.StatusOK:
		return "200 OK"
	case http.StatusCreated:
		return "201 Created"
	case http.StatusNoContent:
		return "204 No Content"
	case http.StatusGone:
		return "410 Gone"
	case http.StatusTooManyRequests:
		return "429 Too Many Requests"
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// headerOf builds a Header from decoded fields, the values of all of them
// in one backing array.
func headerOf(fields []hpack.HeaderField) http.Header {
	h := make(http.Header, len(fields))
	vals := make([]string, len(fields))
	for i, f := range fields {
		k := canonicalName(f.Name)
		if vv, ok := h[k]; ok {
			h[k] = append(vv, f.Value)
			continue
		}
		vals[i] = f.Value
		h[k] = vals[i : i+1 : i+1]
	}
	return h
}

// canonicalName is http.CanonicalHeaderKey without an allocation for the
// headers push services commonly send.
func canonicalName(n string) string {
	switch n {
	case "content-type":
		return "Content-Type"
	case "content-length":
		return "Content-Length"
	case "date":
		return "Date"
	case "location":
		return "Location"
	case "retry-after":
		return "Retry-After"
	case "server":
		return "Server"
	case "ttl":
		return "Ttl"
	}
	return http.CanonicalHeaderKey(n)
}

// body is a response body already in memory.
type body struct {
	b   []byte
	err error // after b: io.EOF or ErrBodyTruncated
}

func (b *body) Read(p []byte) (int, error) {
	if len(b.b) == 0 {
		return 0, b.err
	}
	n := copy(p, b.b)
	b.b = b.b[n:]
	return n, nil
}

func (b *body) Close() error {
	b.b = nil
	b.err = errors.New("h2client: read on closed response body")
	return nil
}

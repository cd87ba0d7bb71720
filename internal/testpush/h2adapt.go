package testpush

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Requests other than plain pushes reach the lean server rarely (tests
// reading /_testpush/stats over HTTP/2, a push with an odd path): they
// are handed to the Server's ServeMux, on a goroutine, with the body
// already read and the response recorded, then written as one answer.

// dispatchOther answers a request that is not a push handled inline.
func (c *h2conn) dispatchOther(st *h2stream) {
	if st.tooLarge {
		c.answerStatus(st, http.StatusRequestEntityTooLarge)
		return
	}
	req, err := c.request(st)
	if err != nil {
		c.answerStatus(st, http.StatusBadRequest)
		return
	}
	c.answerAsync(st, func(ctx context.Context) {
		rec := &recorder{header: make(http.Header)}
		c.s.mux.ServeHTTP(rec, req.WithContext(ctx))
		c.answerRecorded(st, req.Method, rec)
	})
}

// request builds the *http.Request net/http's HTTP/2 server would have.
func (c *h2conn) request(st *h2stream) (*http.Request, error) {
	u, err := url.ParseRequestURI(st.path)
	if err != nil {
		return nil, err
	}
	host := st.authority
	if host == "" {
		host = st.header.Get("Host")
	}
	var body io.ReadCloser = http.NoBody
	if len(st.body) > 0 {
		body = io.NopCloser(bytes.NewReader(st.body))
	}
	return &http.Request{
		Method:        st.method,
		URL:           u,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        st.header,
		Body:          body,
		ContentLength: int64(len(st.body)),
		Host:          host,
		RemoteAddr:    c.nc.RemoteAddr().String(),
		RequestURI:    st.path,
		TLS:           c.tls,
	}, nil
}

// recorder is the http.ResponseWriter a ServeMux handler writes to.
type recorder struct {
	header http.Header
	sent   http.Header // header as of WriteHeader
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 || code < 200 {
		return // informational answers are not relayed
	}
	r.status = code
	r.sent = r.header.Clone()
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// answerRecorded writes a recorded response.
func (c *h2conn) answerRecorded(st *h2stream, method string, rec *recorder) {
	rec.WriteHeader(http.StatusOK)
	h, body := rec.sent, rec.body.Bytes()
	noBody := rec.status == http.StatusNoContent || rec.status == http.StatusNotModified
	if noBody {
		body = nil
	}
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(body))
	}
	blk := appendStatus(nil, rec.status)
	for k, vs := range h {
		name := strings.ToLower(k)
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "content-length":
			continue // connection-specific in HTTP/2, or set below
		}
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) {
				blk = appendLiteralName(blk, name, v)
			}
		}
	}
	if !noBody {
		blk = appendLiteral(blk, hpContentLength, strconv.Itoa(len(body)))
	}
	if method == http.MethodHead {
		body = nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || st.reset {
		return
	}
	c.answerLocked(st, blk, body)
	c.flushLocked()
}

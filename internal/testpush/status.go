package testpush

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// errorBody is the JSON of every refusal: {"error":{"code":..,"message":..}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("write response", slog.Any("err", err))
	}
}

// handleStats is GET /_testpush/stats.
func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	// A test page on another loopback origin polls this before it
	// subscribes; the counters are no secret.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.writeJSON(w, http.StatusOK, s.Stats())
}

// receivedBody is the JSON of GET /_testpush/received/{id}.
type receivedBody struct {
	ID         string    `json:"id"`
	Deliveries int       `json:"deliveries"`
	Messages   []Message `json:"messages"`
}

// handleReceived is GET /_testpush/received/{id}.
func (s *Server) handleReceived(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	id := r.PathValue("id")
	if e, _ := s.subs.lookup(id); e == nil {
		var b errorBody
		b.Error.Code = reasons[reasonNotFound].code
		b.Error.Message = "no subscription " + id
		s.writeJSON(w, http.StatusNotFound, b)
		return
	}
	msgs := s.Received(id)
	if msgs == nil {
		msgs = []Message{}
	}
	s.writeJSON(w, http.StatusOK, receivedBody{ID: id, Deliveries: s.Deliveries(id), Messages: msgs})
}

// handleRoot is GET /: the browser WebSocket, or a short description for
// anything that is not an upgrade.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "" {
		s.serveSocket(w, r)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{
		"service":   "testpush",
		"websocket": s.WebSocketURL(),
		"protocol":  pushSubprotocol,
		"stats":     s.base + "/_testpush/stats",
	})
}

package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/heraldpush/herald/internal/audience"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// SegmentStore is what /v1/segments needs beyond Messages: the saved
// segments and audience counts. The store given as Deps.Messages
// provides it.
type SegmentStore interface {
	store.Segments
	AudienceCounter
}

var _ SegmentStore = store.Store(nil)

// segmentRequest is the body of POST /v1/segments, PUT and PATCH
// /v1/segments/{name}. Pointers tell a PATCH which fields to change.
type segmentRequest struct {
	Name        *string            `json:"name"`
	Title       *string            `json:"title"`
	Description *string            `json:"description"`
	Rules       *audience.RulesDoc `json:"rules"`
}

// segmentJSON is a segment as the API answers it, with its live count.
type segmentJSON struct {
	ID              int64             `json:"id"`
	Name            string            `json:"name"`
	Title           string            `json:"title"`
	Description     string            `json:"description"`
	Rules           audience.RulesDoc `json:"rules"`
	SubscriberCount int64             `json:"subscriber_count"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

func (a *API) segmentStore() (SegmentStore, error) {
	s, ok := a.messages.(SegmentStore)
	if !ok {
		return nil, errors.New("api: the message store keeps no segments")
	}
	return s, nil
}

// segmentAnswer counts seg's members now and writes it as JSON.
func segmentAnswer(ctx context.Context, s SegmentStore, seg store.Segment) (segmentJSON, error) {
	n, err := s.CountAudience(ctx, seg.AppID, seg.Rules.Audience(time.Now()))
	if err != nil {
		return segmentJSON{}, err
	}
	return segmentJSON{ID: seg.ID, Name: seg.Name, Title: seg.Title, Description: seg.Description,
		Rules: audience.DocOf(seg.Rules), SubscriberCount: n, CreatedAt: seg.CreatedAt, UpdatedAt: seg.UpdatedAt}, nil
}

// apply validates req and writes its fields into seg; partial leaves
// absent fields alone, otherwise name and rules are required.
func (req segmentRequest) apply(seg *store.Segment, partial bool) error {
	if !partial && req.Name == nil {
		return jsonreq.Fieldf("name", "is required")
	}
	if !partial && req.Rules == nil {
		return jsonreq.Fieldf("rules", `is required (an object; {} is every subscriber)`)
	}
	if req.Name != nil {
		if err := audience.ValidateSegmentName("name", *req.Name); err != nil {
			return err
		}
		seg.Name = *req.Name
	}
	if req.Title != nil {
		seg.Title = *req.Title
	} else if !partial {
		seg.Title = ""
	}
	if req.Description != nil {
		seg.Description = *req.Description
	} else if !partial {
		seg.Description = ""
	}
	if err := audience.ValidateSegmentText(seg.Title, seg.Description); err != nil {
		return err
	}
	if req.Rules != nil {
		rules, err := req.Rules.Rules("rules")
		if err != nil {
			return err
		}
		seg.Rules = rules
	}
	return nil
}

func segmentConflict(name string) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "name: a segment named " + name + " exists already", Field: "name"}
}

func (a *API) createSegment(w http.ResponseWriter, r *http.Request, app store.App) error {
	s, err := a.segmentStore()
	if err != nil {
		return err
	}
	var req segmentRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	seg := store.Segment{AppID: app.ID}
	if err := req.apply(&seg, false); err != nil {
		return err
	}
	seg, err = s.CreateSegment(r.Context(), seg)
	if errors.Is(err, store.ErrConflict) {
		return segmentConflict(*req.Name)
	}
	if err != nil {
		return err
	}
	out, err := segmentAnswer(r.Context(), s, seg)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/segments/"+seg.Name)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listSegments(w http.ResponseWriter, r *http.Request, app store.App) error {
	s, err := a.segmentStore()
	if err != nil {
		return err
	}
	segs, err := s.ListSegments(r.Context(), app.ID)
	if err != nil {
		return err
	}
	out := make([]segmentJSON, 0, len(segs))
	for _, seg := range segs {
		j, err := segmentAnswer(r.Context(), s, seg)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": out})
	return nil
}

// namedSegment loads the app's segment named in the path.
func (a *API) namedSegment(r *http.Request, app store.App) (SegmentStore, store.Segment, error) {
	s, err := a.segmentStore()
	if err != nil {
		return nil, store.Segment{}, err
	}
	seg, err := s.Segment(r.Context(), app.ID, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Segment{}, notFound("segment")
	}
	return s, seg, err
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request, app store.App) error {
	s, seg, err := a.namedSegment(r, app)
	if err != nil {
		return err
	}
	out, err := segmentAnswer(r.Context(), s, seg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// updateSegment serves PUT (replace: name and rules required) and PATCH
// (only the fields given change).
func (a *API) updateSegment(partial bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, app store.App) error {
		s, seg, err := a.namedSegment(r, app)
		if err != nil {
			return err
		}
		var req segmentRequest
		if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
			return err
		}
		if err := req.apply(&seg, partial); err != nil {
			return err
		}
		seg, err = s.UpdateSegment(r.Context(), seg)
		switch {
		case errors.Is(err, store.ErrConflict):
			return segmentConflict(*req.Name)
		case errors.Is(err, store.ErrNotFound): // deleted meanwhile
			return notFound("segment")
		case err != nil:
			return err
		}
		out, err := segmentAnswer(r.Context(), s, seg)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (a *API) deleteSegment(w http.ResponseWriter, r *http.Request, app store.App) error {
	s, err := a.segmentStore()
	if err != nil {
		return err
	}
	err = s.DeleteSegment(r.Context(), app.ID, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("segment")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
	"parley/internal/store"
)

// The admin API's webhooks and outbox: what the desk's Notifications page
// does, for programs with an admin token.

func (s *Server) notifyAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/webhooks", s.api(s.apiWebhooks))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/webhooks", s.api(s.apiAddWebhook))
	mux.HandleFunc("DELETE /api/v1/admin/sites/{site}/webhooks/{id}", s.api(s.apiRemoveWebhook))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/deliveries", s.api(s.apiDeliveries))
	mux.HandleFunc("POST /api/v1/admin/sites/{site}/deliveries/{id}/resend", s.api(s.apiResend))
	mux.HandleFunc("GET /api/v1/admin/sites/{site}/outbox", s.api(s.apiOutbox))
}

// webhookJSON is a webhook as the API shows it; the secret only once,
// when it is made.
type webhookJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	WithEmail bool     `json:"with_email"`
	Created   string   `json:"created"`
	Secret    string   `json:"secret,omitempty"`
}

func toWebhookJSON(h *store.Webhook) webhookJSON {
	return webhookJSON{ID: h.ID, URL: h.URL, Events: h.Events, WithEmail: h.WithEmail, Created: h.Created.UTC().Format(time.RFC3339), Secret: h.Secret}
}

func (s *Server) apiWebhooks(w http.ResponseWriter, r *http.Request, a *apiReq) {
	list, err := s.svc.Webhooks(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}{Webhooks: []webhookJSON{}}
	for _, h := range list {
		out.Webhooks = append(out.Webhooks, toWebhookJSON(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAddWebhook(w http.ResponseWriter, r *http.Request, a *apiReq) {
	var in struct {
		URL       string   `json:"url"`
		Events    []string `json:"events"`
		WithEmail bool     `json:"with_email"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.fail(w, r, a.t, &comment.ValidationError{Code: "bad_json", Message: "The request is not valid JSON: {\"url\", \"events\", \"with_email\"}."})
		return
	}
	h, err := s.svc.AddWebhook(r.Context(), a.actor, service.NewWebhook{SiteID: r.PathValue("site"), URL: in.URL, Events: in.Events, WithEmail: in.WithEmail})
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWebhookJSON(h))
}

func (s *Server) apiRemoveWebhook(w http.ResponseWriter, r *http.Request, a *apiReq) {
	if err := s.svc.RemoveWebhook(r.Context(), a.actor, r.PathValue("site"), r.PathValue("id")); err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliveryJSON is one outbox message as the API shows it: never its
// payload (what readers wrote, their addresses).
type deliveryJSON struct {
	ID       int64   `json:"id"`
	Kind     string  `json:"kind"`
	Webhook  string  `json:"webhook,omitempty"`
	State    string  `json:"state"`
	Created  string  `json:"created"`
	Attempts int     `json:"attempts"`
	Status   int     `json:"status"`
	TookMS   int64   `json:"took_ms"`
	Error    string  `json:"error"`
	Done     *string `json:"done"`
}

func toDeliveryJSON(m *store.Message) deliveryJSON {
	d := deliveryJSON{ID: m.ID, Kind: m.Kind, State: m.State, Created: m.Created.UTC().Format(time.RFC3339), Attempts: m.Attempts,
		Status: m.LastStatus, TookMS: m.LastTook.Milliseconds(), Error: m.LastError}
	if m.Kind == store.KindWebhook {
		d.Webhook = m.Target
	}
	if !m.Done.IsZero() {
		t := m.Done.UTC().Format(time.RFC3339)
		d.Done = &t
	}
	return d
}

func (s *Server) apiDeliveries(w http.ResponseWriter, r *http.Request, a *apiReq) {
	q := r.URL.Query()
	list, next, err := s.svc.Deliveries(r.Context(), a.actor, r.PathValue("site"), q.Get("webhook"), q.Get("state"), q.Get("cursor"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := struct {
		Deliveries []deliveryJSON `json:"deliveries"`
		Next       *string        `json:"next"`
	}{Deliveries: []deliveryJSON{}}
	for _, m := range list {
		out.Deliveries = append(out.Deliveries, toDeliveryJSON(m))
	}
	if next != "" {
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiResend(w http.ResponseWriter, r *http.Request, a *apiReq) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, a.t, comment.ErrNotFound)
		return
	}
	m, err := s.svc.Redeliver(r.Context(), a.actor, r.PathValue("site"), id)
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(m))
}

func (s *Server) apiOutbox(w http.ResponseWriter, r *http.Request, a *apiReq) {
	st, err := s.svc.Outbox(r.Context(), a.actor, r.PathValue("site"))
	if err != nil {
		s.fail(w, r, a.t, err)
		return
	}
	out := struct {
		Counts        map[string]map[string]int `json:"counts"`
		OldestPending *string                   `json:"oldest_pending"`
	}{Counts: map[string]map[string]int{}}
	for _, k := range []string{store.KindEmail, store.KindWebhook} {
		out.Counts[k] = map[string]int{}
		for _, state := range []string{store.StatePending, store.StateSent, store.StateFailed, store.StateDropped} {
			out.Counts[k][state] = st.Counts[k][state]
		}
	}
	if !st.OldestPending.IsZero() {
		t := st.OldestPending.UTC().Format(time.RFC3339)
		out.OldestPending = &t
	}
	writeJSON(w, http.StatusOK, out)
}

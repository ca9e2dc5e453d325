package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/internal/comment"
	"parley/internal/service"
)

// spec is the parts of an OpenAPI 3.1 document the check reads.
type spec struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]json.RawMessage `json:"schemas"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// validate checks a JSON value against a schema of the subset the
// document uses: $ref, type (one or a list, with "null"), properties,
// required, additionalProperties false or a schema, items, enum, oneOf
// and the date-time format. It returns every mismatch.
func (s *spec) validate(schemaJSON json.RawMessage, v any, at string) []string {
	var sch struct {
		Ref        string                     `json:"$ref"`
		Type       json.RawMessage            `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		Additional json.RawMessage            `json:"additionalProperties"`
		Items      json.RawMessage            `json:"items"`
		Enum       []any                      `json:"enum"`
		OneOf      []json.RawMessage          `json:"oneOf"`
		Format     string                     `json:"format"`
	}
	if err := json.Unmarshal(schemaJSON, &sch); err != nil {
		return []string{at + ": unreadable schema"}
	}
	if sch.Ref != "" {
		return s.validate(s.Components.Schemas[strings.TrimPrefix(sch.Ref, "#/components/schemas/")], v, at)
	}
	if len(sch.OneOf) > 0 {
		matched := 0
		for _, alt := range sch.OneOf {
			if len(s.validate(alt, v, at)) == 0 {
				matched++
			}
		}
		if matched != 1 {
			return []string{fmt.Sprintf("%s: matches %d of oneOf's schemas", at, matched)}
		}
		return nil
	}
	var types []string
	if len(sch.Type) > 0 {
		var one string
		if json.Unmarshal(sch.Type, &one) == nil {
			types = []string{one}
		} else {
			json.Unmarshal(sch.Type, &types)
		}
	}
	kind := "null"
	switch x := v.(type) {
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if x == float64(int64(x)) {
			kind = "integer"
		}
	case []any:
		kind = "array"
	case map[string]any:
		kind = "object"
	}
	if len(types) > 0 && !slices.Contains(types, kind) && !(kind == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, kind, types)}
	}
	var errs []string
	if len(sch.Enum) > 0 && !slices.Contains(sch.Enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, sch.Enum))
	}
	if sch.Format == "date-time" && kind == "string" {
		if _, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, v))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range sch.Required {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: %q missing", at, r))
			}
		}
		for k, val := range x {
			if p, ok := sch.Properties[k]; ok {
				errs = append(errs, s.validate(p, val, at+"."+k)...)
			} else if string(sch.Additional) == "false" {
				errs = append(errs, fmt.Sprintf("%s: %q is not in the document", at, k))
			} else if len(sch.Additional) > 0 && string(sch.Additional) != "true" {
				errs = append(errs, s.validate(sch.Additional, val, at+"."+k)...)
			}
		}
	case []any:
		for i, item := range x {
			if len(sch.Items) > 0 {
				errs = append(errs, s.validate(sch.Items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

// check validates an answer against the document's response for its
// route (a path template), method and status.
func (s *spec) check(t *testing.T, route, method string, status int, body []byte) {
	t.Helper()
	raw, ok := s.Paths[route][strings.ToLower(method)]
	if !ok {
		t.Errorf("%s %s is not in openapi.json", method, route)
		return
	}
	var op operation
	json.Unmarshal(raw, &op)
	r, ok := op.Responses[fmt.Sprint(status)]
	if !ok {
		t.Errorf("%s %s answered %d, which openapi.json does not list", method, route, status)
		return
	}
	if r.Ref != "" {
		var shared struct {
			Content map[string]struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"content"`
		}
		json.Unmarshal(s.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")], &shared)
		r.Content = shared.Content
	}
	c, ok := r.Content["application/json"]
	if !ok {
		if len(bytes.TrimSpace(body)) > 0 && json.Valid(body) {
			t.Errorf("%s %s %d: the document says no JSON, got %s", method, route, status, body)
		}
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s %d: not JSON: %s", method, route, status, body)
		return
	}
	for _, e := range s.validate(c.Schema, v, "body") {
		t.Errorf("%s %s %d: %s", method, route, status, e)
	}
}

// TestOpenAPI_MatchesAnswers calls every route of openapi.json, with the
// answers it lists, and checks each body against the document.
func TestOpenAPI_MatchesAnswers(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var s spec
	if err := json.Unmarshal(b, &s); err != nil || s.OpenAPI != "3.1.0" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %v %q", err, s.OpenAPI)
	}
	covered := map[string]bool{}
	call := func(route, method, path, token string, body any, header map[string]string) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		s.check(t, route, method, resp.StatusCode, out)
		covered[strings.ToLower(method)+" "+route] = true
		return resp.StatusCode, out
	}
	tok, id := e.newsToken, e.comments[0].ID
	origin := map[string]string{"Origin": "https://news.example"}

	// The public API, as the widget uses it.
	call("/api/v1/sites/{site}/comments", "GET", "/api/v1/sites/news/comments?page="+url.QueryEscape("https://news.example/story"), "", nil, origin)
	call("/api/v1/sites/{site}/comments", "GET", "/api/v1/sites/nosuch/comments?page=x", "", nil, origin)
	call("/api/v1/sites/{site}/comments", "POST", "/api/v1/sites/news/comments", "", map[string]string{"page": "https://news.example/story", "name": "Ana", "email": "ana@example.org", "body": "From the API check"}, origin)
	call("/api/v1/sites/{site}/comments", "POST", "/api/v1/sites/news/comments", "", map[string]string{"page": "https://news.example/story", "name": "Ana", "email": "ana@example.org", "body": ""}, origin)
	_, rb := call("/api/v1/reader", "POST", "/api/v1/reader", "", nil, origin)
	var reader struct{ Reader string }
	json.Unmarshal(rb, &reader)
	call("/api/v1/sites/{site}/counts", "GET", "/api/v1/sites/news/counts?page="+url.QueryEscape("https://news.example/story"), "", nil, origin)
	call("/api/v1/sites/{site}/me", "GET", "/api/v1/sites/news/me", "not-a-session", nil, origin)

	// The admin API.
	call("/api/v1/admin/sites/{site}/comments", "GET", "/api/v1/admin/sites/news/comments", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments", "GET", "/api/v1/admin/sites/news/comments?status=pending&limit=1", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments", "GET", "/api/v1/admin/sites/news/comments?status=nope", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments", "GET", "/api/v1/admin/sites/news/comments", "", nil, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}", "GET", "/api/v1/admin/sites/news/comments/"+id, tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}", "GET", "/api/v1/admin/sites/news/comments/nosuch", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}", "PATCH", "/api/v1/admin/sites/news/comments/"+id, tok, map[string]string{"body": "Edited by the check"}, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}/{action}", "POST", "/api/v1/admin/sites/news/comments/"+id+"/approve", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}/{action}", "POST", "/api/v1/admin/sites/news/comments/"+e.comments[1].ID+"/spam", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments/{id}/{action}", "POST", "/api/v1/admin/sites/news/comments/"+e.comments[1].ID+"/ham", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/comments/bulk", "POST", "/api/v1/admin/sites/news/comments/bulk", tok, map[string]any{"action": "delete", "ids": []string{e.comments[2].ID}}, nil)
	call("/api/v1/admin/sites/{site}/comments/bulk", "POST", "/api/v1/admin/sites/news/comments/bulk", tok, map[string]any{"action": "pending", "filter": map[string]string{"status": "deleted", "since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}, nil)
	call("/api/v1/admin/sites/{site}/comments/bulk", "POST", "/api/v1/admin/sites/news/comments/bulk", tok, map[string]any{"action": "explode"}, nil)
	call("/api/v1/admin/sites/{site}/undo", "POST", "/api/v1/admin/sites/news/undo", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/audit", "GET", "/api/v1/admin/sites/news/audit?limit=3", tok, nil, nil)
	call("/api/v1/admin/sites/{site}/audit", "GET", "/api/v1/admin/sites/news/audit", e.otherToken, nil, nil)
	call("/api/v1/admin/sites/{site}", "GET", "/api/v1/admin/sites/news", tok, nil, nil)
	call("/api/v1/admin/sites/{site}", "PATCH", "/api/v1/admin/sites/news", tok, map[string]any{"id": "news"}, nil)
	call("/api/v1/admin/sites/{site}", "PATCH", "/api/v1/admin/sites/other", e.otherToken, map[string]any{"id": "other", "max_depth": 3}, nil)

	// Webhooks and the outbox, with the other site's admin token: a
	// webhook to a receiver here, a comment, its delivery, sent again.
	got := make(chan string, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("webhook-id") }))
	defer receiver.Close()
	call("/api/v1/admin/sites/{site}/webhooks", "POST", "/api/v1/admin/sites/other/webhooks", e.otherToken, map[string]any{"url": receiver.URL + "/in", "events": []string{"comment.created"}}, nil)
	call("/api/v1/admin/sites/{site}/webhooks", "POST", "/api/v1/admin/sites/other/webhooks", e.otherToken, map[string]any{"url": "http://10.0.0.1/in"}, nil)
	call("/api/v1/admin/sites/{site}/webhooks", "POST", "/api/v1/admin/sites/news/webhooks", tok, map[string]any{"url": receiver.URL + "/in"}, nil)
	_, hb := call("/api/v1/admin/sites/{site}/webhooks", "GET", "/api/v1/admin/sites/other/webhooks", e.otherToken, nil, nil)
	var hooks struct{ Webhooks []struct{ ID, Secret string } }
	json.Unmarshal(hb, &hooks)
	if len(hooks.Webhooks) != 1 || hooks.Webhooks[0].Secret != "" {
		t.Fatalf("webhooks = %s", hb)
	}
	if _, err := e.svc.Post(ctx, comment.Draft{SiteID: "other", Page: "https://other.example/a", Name: "Ana", Email: "ana@example.org", Body: "Hello other"}, service.Meta{}); err != nil {
		t.Fatal(err)
	}
	first := <-got
	_, db := call("/api/v1/admin/sites/{site}/deliveries", "GET", "/api/v1/admin/sites/other/deliveries?webhook="+hooks.Webhooks[0].ID, e.otherToken, nil, nil)
	call("/api/v1/admin/sites/{site}/deliveries", "GET", "/api/v1/admin/sites/other/deliveries?state=nope", e.otherToken, nil, nil)
	var deliveries struct{ Deliveries []struct{ ID int64 } }
	json.Unmarshal(db, &deliveries)
	if len(deliveries.Deliveries) != 1 {
		t.Fatalf("deliveries = %s", db)
	}
	call("/api/v1/admin/sites/{site}/deliveries/{id}/resend", "POST", fmt.Sprintf("/api/v1/admin/sites/other/deliveries/%d/resend", deliveries.Deliveries[0].ID), e.otherToken, nil, nil)
	call("/api/v1/admin/sites/{site}/deliveries/{id}/resend", "POST", "/api/v1/admin/sites/other/deliveries/999999/resend", e.otherToken, nil, nil)
	if again := <-got; again != first {
		t.Errorf("sent again with webhook-id %q, first %q", again, first)
	}
	call("/api/v1/admin/sites/{site}/outbox", "GET", "/api/v1/admin/sites/other/outbox", e.otherToken, nil, nil)
	call("/api/v1/admin/sites/{site}/webhooks/{id}", "DELETE", "/api/v1/admin/sites/other/webhooks/"+hooks.Webhooks[0].ID, e.otherToken, nil, nil)
	call("/api/v1/admin/sites/{site}/webhooks/{id}", "DELETE", "/api/v1/admin/sites/other/webhooks/"+hooks.Webhooks[0].ID, e.otherToken, nil, nil)
	communityCalls(t, e, call) // community_test.go
	privacyCalls(t, e, call)   // privacy_test.go

	// Every admin route is exercised; the public ones not called here
	// (log-in flows, likes, streams) are covered by package httpapi.
	for route, methods := range s.Paths {
		if !strings.HasPrefix(route, "/api/v1/admin/") {
			continue
		}
		for m := range methods {
			if !covered[m+" "+route] {
				t.Errorf("%s %s is documented but the check never called it", strings.ToUpper(m), route)
			}
		}
	}
	// And the document names every route the desk's API serves.
	src, _ := io.ReadAll(io.MultiReader(must(t, "api.go"), must(t, "community_api.go"), must(t, "notify_api.go"), must(t, "privacy.go")))
	for _, m := range regexp.MustCompile(`mux\.HandleFunc\("(GET|POST|PUT|PATCH|DELETE) (/api/v1/admin/[^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if _, ok := s.Paths[m[2]][strings.ToLower(m[1])]; !ok {
			t.Errorf("%s %s is served but not in openapi.json", m[1], m[2])
		}
	}
	// The decisions really happened.
	if c, _ := e.svc.Comment(ctx, "news", id); c.Status != comment.StatusApproved || c.Markdown != "Edited by the check" {
		t.Fatalf("comment after the API calls: %s %q", c.Status, c.Markdown)
	}
}

// must opens a file of the package, failing the test if it cannot.
func must(t *testing.T, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Conns: 4, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests+res.Errors != 200 || res.Errors != 20 || hits.Load() != 200 {
		t.Fatalf("Run = %+v after %d hits; want 180 ok, 20 errors", res, hits.Load())
	}
	if res.Bytes != 5*180 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.PerSecond <= 0 {
		t.Fatalf("implausible result %+v", res)
	}
}

func TestRun_Duration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	res, err := Run(context.Background(), Config{URL: srv.URL, Conns: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("Run = %+v", res)
	}
	if _, err := Run(context.Background(), Config{URL: srv.URL}); err == nil {
		t.Fatal("Run without a bound succeeded")
	}
}

func TestRun_AlsoOK(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusCreated)
		case 1:
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusConflict)
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Method: "POST", Conns: 3, Requests: 90, Want: http.StatusCreated, AlsoOK: []int{http.StatusAccepted}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 60 || res.Errors != 30 {
		t.Fatalf("Run = %+v; want 60 ok (201 and 202), 30 errors (409)", res)
	}
}

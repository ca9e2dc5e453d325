package auth_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parley/internal/auth"
)

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAvatarFetcher(t *testing.T) {
	pic := pngBytes(t)
	mux := http.NewServeMux()
	serve := func(path, ct string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		})
	}
	serve("/jane.png", "image/png", pic)
	serve("/lying.jpg", "image/jpeg", pic) // says JPEG, is PNG
	serve("/evil.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	serve("/page.html", "text/html", []byte("<html>hello</html>"))
	serve("/html-as-image", "image/png", []byte("<html><script>alert(1)</script></html>"))
	serve("/big.png", "image/png", append(pic, make([]byte, 2<<20)...))
	mux.HandleFunc("/chunked-big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pic)
		w.(http.Flusher).Flush()
		for i := 0; i < 40; i++ {
			w.Write(make([]byte, 64<<10))
		}
	})
	mux.HandleFunc("/missing.png", http.NotFound)
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/jane.png", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	f := &auth.AvatarFetcher{AllowPrivate: true}
	ctx := context.Background()

	data, ct, err := f.Fetch(ctx, srv.URL+"/jane.png")
	if err != nil || ct != "image/png" || !bytes.Equal(data, pic) {
		t.Fatalf("Fetch = %d bytes, %q, %v", len(data), ct, err)
	}
	if _, ct, err := f.Fetch(ctx, srv.URL+"/lying.jpg"); err != nil || ct != "image/png" {
		t.Errorf("content type from the bytes: %q, %v; want image/png", ct, err)
	}
	if _, _, err := f.Fetch(ctx, srv.URL+"/moved"); err != nil {
		t.Errorf("one redirect: %v", err)
	}

	tests := []struct {
		path string
		want error
	}{
		{"/evil.svg", auth.ErrAvatarType},
		{"/page.html", auth.ErrAvatarType},
		{"/html-as-image", auth.ErrAvatarType},
		{"/big.png", auth.ErrAvatarTooLarge},
		{"/chunked-big", auth.ErrAvatarTooLarge},
		{"/missing.png", nil},
		{"/loop", nil},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			data, _, err := f.Fetch(ctx, srv.URL+tt.path)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || data != nil {
				t.Errorf("Fetch = %d bytes, %v; want error %v", len(data), err, tt.want)
			}
		})
	}
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/a.png", "javascript:alert(1)", "/relative.png", ""} {
		if _, _, err := f.Fetch(ctx, u); !errors.Is(err, auth.ErrAvatarURL) {
			t.Errorf("Fetch(%q) = %v, want ErrAvatarURL", u, err)
		}
	}
}

func TestAvatarFetcher_RefusesPrivateAddresses(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	var f auth.AvatarFetcher // the default: public addresses only
	for _, u := range []string{srv.URL + "/a.png", "http://localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:] + "/a.png",
		"http://[::1]:1/a.png", "http://10.0.0.1:1/a.png", "http://169.254.169.254/latest/meta-data/"} {
		if _, _, err := f.Fetch(context.Background(), u); !errors.Is(err, auth.ErrAvatarURL) {
			t.Errorf("Fetch(%s) = %v, want ErrAvatarURL", u, err)
		}
	}
	if hit {
		t.Error("a request reached a loopback server")
	}
}

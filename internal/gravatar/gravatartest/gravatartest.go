// Package gravatartest runs a stand-in for a Gravatar-compatible avatar
// service in tests, answering as Gravatar's image API documentation shows
// (https://docs.gravatar.com/api/avatars/images/): GET /avatar/HASH, where
// HASH is the SHA-256 of the lower-case address, with ?s=SIZE and
// ?d=404 for "answer 404 when there is no picture".
package gravatartest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Service is the running stand-in.
type Service struct {
	*httptest.Server
	// URL + "/avatar/" is the service's avatar address.

	mu       sync.Mutex
	pictures map[string][]byte // by hash
	asked    int
	lastSize string
}

// Start runs a service that knows a picture for each of emails, and
// stops it when the test ends.
func Start(t testing.TB, emails ...string) *Service {
	s := &Service{pictures: map[string][]byte{}}
	for i, e := range emails {
		s.pictures[Hash(e)] = Picture(uint8(40 * i))
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.asked++
	s.lastSize = r.URL.Query().Get("s")
	hash, ok := strings.CutPrefix(r.URL.Path, "/avatar/")
	pic, found := s.pictures[hash]
	s.mu.Unlock()
	switch {
	case ok && found:
	case r.URL.Query().Get("d") == "404":
		http.NotFound(w, r)
		return
	default:
		pic = Picture(255) // Gravatar's default picture
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(pic)
}

// Asked returns how many requests the service has answered, and the size
// the last one asked for.
func (s *Service) Asked() (n int, size string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked, s.lastSize
}

// PictureOf returns the picture the service has for email, or nil.
func (s *Service) PictureOf(email string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pictures[Hash(email)]
}

// Hash is the service's key for an address.
func Hash(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// Picture returns a small PNG whose colour depends on shade.
func Picture(shade uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{shade, 200, 10, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// Package avatar draws identicons: small symmetric pictures derived from a
// key, served by Parley itself so a reader's browser never asks a third
// party (such as Gravatar) for an author's picture.
package avatar

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// SVG returns a 5×5 mirrored identicon for key as an SVG document. The same
// key always gives the same picture.
func SVG(key string) []byte {
	h := sha256.Sum256([]byte(key))
	// Hue from the hash; saturation and lightness fixed so every avatar has
	// enough contrast on both light and dark themes.
	hue := int(h[0])<<8 | int(h[1])
	fg := fmt.Sprintf("hsl(%d,55%%,48%%)", hue%360)
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 5 5" width="64" height="64" shape-rendering="crispEdges">`)
	b.WriteString(`<rect width="5" height="5" fill="#eef0f3"/>`)
	fmt.Fprintf(&b, `<g fill="%s">`, fg)
	for row := 0; row < 5; row++ {
		for col := 0; col < 3; col++ {
			if h[2+row*3+col]&1 == 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, col, row)
			if col < 2 {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, 4-col, row)
			}
		}
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}

// ValidKey reports whether key looks like a key Parley hands out (hex), so
// the server does not draw pictures for arbitrary strings.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

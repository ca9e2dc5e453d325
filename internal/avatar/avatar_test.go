package avatar

import (
	"bytes"
	"encoding/xml"
	"testing"
)

func TestSVG(t *testing.T) {
	a, b := SVG("0123abcd"), SVG("0123abce")
	if !bytes.Equal(a, SVG("0123abcd")) {
		t.Fatal("same key gave different pictures")
	}
	if bytes.Equal(a, b) {
		t.Fatal("different keys gave the same picture")
	}
	// Well-formed XML, so browsers render it.
	d := xml.NewDecoder(bytes.NewReader(a))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed: %v", err)
			}
			break
		}
	}
}

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{"0af9": true, "": false, "0AF9": false, "../x": false, "abc.svg": false} {
		if got := ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

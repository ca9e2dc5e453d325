package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"parley/internal/keys"
)

// Links makes and opens the signed links of Parley's emails: confirming
// a subscription, unsubscribing (one subscription, or every one of an
// address on a site), the page of an address's subscriptions, stopping
// the emails about an address's held comments, turning a staff member's
// alerts off, and moderators' one-click actions.
//
// A link carries what it acts on and an HMAC-SHA256 under a key of the
// server's, never an email address: an address is named by its keyed
// hash (EmailKey). Readers' links do not expire (a list's unsubscribe
// link must keep working, RFC 8058); confirmation and action links do.
type Links struct {
	keys   *keys.Keys
	public string // Parley's public address, without a trailing slash
}

// NewLinks returns Links signing with key (32 bytes or more) for a
// server at publicURL. Without a public address ("") links are paths
// only: enough to open them, not to email them (email needs
// --public-url).
func NewLinks(key []byte, publicURL string) (*Links, error) {
	if len(key) < 32 {
		return nil, errors.New("notify: the link key must be at least 32 bytes")
	}
	u, err := url.Parse(publicURL)
	if publicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return nil, errors.New("notify: Parley's public address must be an http(s) URL")
	}
	k, err := keys.New(key)
	if err != nil {
		return nil, err
	}
	return &Links{keys: k, public: strings.TrimSuffix(publicURL, "/")}, nil
}

// Public returns Parley's public address.
func (l *Links) Public() string { return l.public }

// EmailKey returns the keyed hash that stands for an address in links
// and in the store.
func (l *Links) EmailKey(email string) string {
	return hex.EncodeToString(l.mac("email-key", []byte(strings.ToLower(strings.TrimSpace(email))))[:16])
}

func (l *Links) mac(purpose string, b []byte) []byte { return l.keys.Sum(purpose, b) }

// Token purposes: a token made for one is never accepted for another.
const (
	PurposeConfirm     = "confirm"
	PurposeUnsubscribe = "unsubscribe"
	PurposeManage      = "manage"
	PurposeAlertsOff   = "alerts-off"
	PurposeAction      = "action"
	// PurposeDecisions opens the page that stops (or restarts) a site's
	// emails to an address about its held comments.
	PurposeDecisions = "decisions"
)

// Token is what a link says.
type Token struct {
	Site         string `json:"s,omitempty"`
	EmailKey     string `json:"k,omitempty"`
	Subscription string `json:"i,omitempty"` // one subscription; "" for every one of EmailKey on Site
	Lang         string `json:"l,omitempty"`
	Account      string `json:"a,omitempty"`
	Comment      string `json:"c,omitempty"`
	Decision     string `json:"d,omitempty"`
	// Nonce makes an action link single-use: the links of one comment in
	// one email share it, so one of them used spends them all.
	Nonce   string `json:"n,omitempty"`
	Expires int64  `json:"x,omitempty"` // Unix seconds; 0 for never
	// Email and Identity name the reader of a privacy grant, which is
	// sealed with SealSecret so that no one can read them from it.
	Email    string `json:"e,omitempty"`
	Identity string `json:"u,omitempty"`
}

// Errors of Open.
var (
	ErrBadLink     = errors.New("link not valid")
	ErrExpiredLink = errors.New("link expired")
)

// Seal returns a token for purpose.
func (l *Links) Seal(purpose string, t Token) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(l.mac("link:"+purpose, b)[:18])
}

// SealSecret returns a token for purpose that only this server can read
// (AES-256-GCM under a key derived from the links' key, bound to
// purpose), for tokens that name a reader: a privacy grant holds an email
// address and a log-in, and ends up in addresses and browser histories.
func (l *Links) SealSecret(purpose string, t Token) string {
	b, _ := json.Marshal(t)
	aead := l.aead()
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, []byte("link:"+purpose)))
}

// OpenSecret opens a token made by SealSecret for purpose, as Open does.
func (l *Links) OpenSecret(purpose, tok string, now time.Time) (Token, error) {
	var t Token
	if len(tok) > 4096 {
		return t, ErrBadLink
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	aead := l.aead()
	if err != nil || len(b) < aead.NonceSize() {
		return t, ErrBadLink
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte("link:"+purpose))
	if err != nil || json.Unmarshal(plain, &t) != nil {
		return Token{}, ErrBadLink
	}
	if t.Expires != 0 && now.Unix() >= t.Expires {
		return t, ErrExpiredLink
	}
	return t, nil
}

func (l *Links) aead() cipher.AEAD {
	block, err := aes.NewCipher(l.mac("secret-links", nil)) // 32 bytes: AES-256
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// Open checks a token made for purpose and returns what it says. It
// returns ErrBadLink for a token not made by Seal for purpose, and
// ErrExpiredLink (with the token) for one past its expiry.
func (l *Links) Open(purpose, tok string, now time.Time) (Token, error) {
	var t Token
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 2048 {
		return t, ErrBadLink
	}
	b, err1 := base64.RawURLEncoding.DecodeString(p)
	s, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(s, l.mac("link:"+purpose, b)[:18]) {
		return t, ErrBadLink
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return Token{}, ErrBadLink
	}
	if t.Expires != 0 && now.Unix() >= t.Expires {
		return t, ErrExpiredLink
	}
	return t, nil
}

// The paths of the links' pages under Parley's public address.
const (
	ConfirmPath       = "/notify/confirm"
	UnsubscribePath   = "/notify/unsubscribe"
	SubscriptionsPath = "/notify/subscriptions"
	AlertsOffPath     = "/admin/alerts/off"
	ActionPath        = "/admin/act"
	DecisionsPath     = "/notify/decisions"
)

// URL returns the absolute address of a page with a token.
func (l *Links) URL(path, purpose string, t Token) string {
	q := url.Values{"t": {l.Seal(purpose, t)}}
	if t.Lang != "" {
		q.Set("lang", t.Lang)
	}
	return l.public + path + "?" + q.Encode()
}

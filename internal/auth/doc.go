// Package auth holds the building blocks of reader identity: who a reader is
// (Identity), how a log-in with an outside provider runs in the browser
// (Flow), how Parley remembers a logged-in reader (Sessions), passwordless
// log-in by email (EmailLinks, sent through package mail), log-in through a site's own
// accounts (VerifySSO), and fetching a provider's avatar so Parley can serve
// it itself (AvatarFetcher).
//
// The OAuth 2.0 and OpenID Connect providers themselves live in the
// provider sub-package; this package only knows the Provider interface.
//
// Nothing here serves HTTP routes or owns tables. What needs storage is an
// interface (SessionStore, OnceStore, VerifiedEmailStore) that the database
// stores implement; MemoryStore implements all three for a single instance
// and for tests.
//
// Everything that leaves the server is signed or sealed with keys derived
// from one server secret, each use under its own purpose, so a value made
// for one use is never accepted by another.
package auth

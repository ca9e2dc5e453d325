// Package authtest runs, in-process and on 127.0.0.1, the outside services
// that sign-in talks to: an OpenID Connect provider with a login page
// (StartOP) and an SMTP server that keeps what it receives (StartSMTP).
//
// It is a normal package so that tests in several packages can share it
// (auth, auth/provider, httpapi, browsertest), but only tests may import
// it: nothing in the parley binary should. It does not import
// parley/internal/auth, so tests in any package, including auth itself,
// can use it without an import cycle.
package authtest

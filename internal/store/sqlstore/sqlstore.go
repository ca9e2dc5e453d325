// Package sqlstore holds the SQL that Parley's two databases agree on,
// written once: the store.Store methods that package sqlite and package
// postgres both run. The SQLite Parley embeds takes $N parameters,
// RETURNING, ON CONFLICT … DO UPDATE and row values as PostgreSQL does, so
// a query is written here once, as a plain string, and what really
// differs between the engines is the small Dialect each fills in.
//
// Only the engine packages use sqlstore; everyone else uses store.Store.
// Opening a database, its pragmas or pool, its migrations (which stay per
// engine, as column types differ), how writes are run and how changes
// are announced stay in the engine's own package.
package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"parley/internal/comment"
)

// Dialect is what differs between the engines. Every field must be set
// unless its comment says otherwise. New queries that need something an
// engine does differently (FOR UPDATE SKIP LOCKED for a queue, full-text
// search) add a field here, not a branch on the engine's name.
type Dialect struct {
	// Read is the pool that reads outside a write go through: SQLite's
	// read-only connections, PostgreSQL's pool.
	Read *sql.DB
	// Write runs fn in a write transaction and returns once that is
	// committed, or fn's work is rolled back, with the error translated.
	// SQLite group-commits writes through its single writer; PostgreSQL
	// takes a transaction from its pool.
	Write func(ctx context.Context, fn func(tx *sql.Tx) error) error
	// WriteAlone is Write for long work that should not share a
	// transaction with other writes: restores and imports.
	WriteAlone func(ctx context.Context, fn func(tx *sql.Tx) error) error
	// Snapshot is how Dump's read-only transaction is begun so that every
	// query in it sees one consistent state.
	Snapshot sql.TxOptions
	// Unbounded, if not empty, is run first in a snapshot transaction
	// whose reading waits on a consumer (a reader's export streamed to
	// them), so a slow consumer does not end it midway: PostgreSQL's
	// "SET LOCAL statement_timeout = 0".
	Unbounded string
	// Translate turns driver errors into the comment package's errors
	// (no rows: comment.ErrNotFound; a unique key: comment.ErrConflict;
	// the database out of reach: comment.ErrUnavailable) and leaves
	// others, and nil, as they are.
	Translate func(error) error
	// IsForeignKey reports whether err is a foreign-key violation.
	IsForeignKey func(error) bool
	// ForUpdate ends a SELECT of a row that the transaction goes on to
	// change: " FOR UPDATE" where concurrent writers must wait for it,
	// "" for SQLite, whose one writer excludes them already.
	ForUpdate string
	// SkipLocked ends the subquery that picks outbox messages to lease:
	// " FOR UPDATE SKIP LOCKED" where instances claim concurrently, so
	// none waits for rows another is taking; "" for SQLite.
	SkipLocked string
	// DeferForeignKeys is the statement that postpones foreign-key checks
	// to the end of the transaction (a dump may list a reply before its
	// parent).
	DeferForeignKeys string
	// TextMatch returns the condition that a comment contains every word
	// of text (its markdown or its author's name), adding its values with
	// arg: SQLite's FTS5 table, PostgreSQL's text search.
	TextMatch func(arg func(any) string, text string) string
	// Announce, if not nil, is called inside the transaction that records
	// ev, to tell other instances once it commits (PostgreSQL's NOTIFY).
	Announce func(ctx context.Context, tx *sql.Tx, ev comment.Event) error
	// Committed, if not nil, is called with the events a write recorded
	// once its transaction has committed (SQLite's in-process hub).
	Committed func(evs []comment.Event)
	// Scrub, if not nil, is run after a reader's erasure committed, to
	// rewrite what the database files may still hold of the erased rows
	// (SQLite: the search index's old segments, the write-ahead log).
	Scrub func(ctx context.Context) error
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Store runs the shared SQL over one engine's Dialect. The engine
// packages embed it in their DB type.
type Store struct {
	d Dialect
}

// New returns a Store over d.
func New(d Dialect) *Store {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Store{d: d}
}

// now is the store's clock.
func (s *Store) now() time.Time { return s.d.Now() }

// read turns the error of a read outside a transaction into the comment
// package's errors (Write does so for writes).
func (s *Store) read(err error) error { return s.d.Translate(err) }

// change runs fn in a write transaction, like Dialect.Write, and hands the
// events fn records to Dialect.Committed once the transaction committed.
func (s *Store) change(ctx context.Context, fn func(w *changeTx) error) error {
	w := &changeTx{s: s, ctx: ctx}
	err := s.d.Write(ctx, func(tx *sql.Tx) error {
		w.Tx, w.events = tx, w.events[:0]
		return fn(w)
	})
	if err == nil && len(w.events) > 0 && s.d.Committed != nil {
		s.d.Committed(w.events)
	}
	return err
}

// changeTx is a write transaction that records change events.
type changeTx struct {
	*sql.Tx
	s      *Store
	ctx    context.Context
	events []comment.Event
}

// Tx runs fn in a transaction of its own on db (a pool or one connection
// of it) and commits it if fn returns nil; the error, if any, is
// translated. Engines use it to build Dialect.Write and Dialect.WriteAlone.
func Tx(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, translate func(error) error, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// mustAffect returns comment.ErrNotFound if res changed no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return comment.ErrNotFound
	}
	return nil
}

// nullable stores "" as NULL, for columns with a unique index on set values.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Package sqlite is Parley's default store: one SQLite file, embedded in the
// binary through a pure-Go driver, so `go build` needs no C compiler.
//
// Reads go through a pool of read-only connections and writes through a
// single connection: SQLite allows one writer at a time, and in WAL mode
// readers never wait for it.
//
// The queries themselves are package sqlstore's, shared with PostgreSQL;
// this package opens the file, applies its migrations, runs the writer
// that group-commits writes, tells this process's listeners about
// changes, translates SQLite's errors and makes backups.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"parley/internal/comment"
	"parley/internal/store"
	"parley/internal/store/sqlstore"
)

var _ store.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store backed by one SQLite file. The queries it shares
// with PostgreSQL are sqlstore's, run over this package's dialect.
type DB struct {
	*sqlstore.Store
	path  string
	dsn   string
	read  *sql.DB
	write *sql.DB
	now   func() time.Time
	hub   hub

	writes     chan *writeReq
	closed     chan struct{}
	closeOnce  sync.Once
	writerDone chan struct{}
}

// Options tune Open.
type Options struct {
	// Migrate applies pending schema migrations. When false, Open refuses a
	// database whose schema is older than this binary's.
	Migrate bool
}

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// WAL lets readers run while the writer writes; synchronous=FULL makes
	// every commit durable on disk before Parley answers 2xx; foreign keys
	// keep replies tied to their thread; the busy timeout makes a second
	// process (a CLI command beside the server) wait instead of failing.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	// A statement on the writer runs to its end whatever its caller does
	// (sqlstore.Detach): SQLite rolls back the whole transaction, with
	// every other poster's write in the batch, when one is interrupted.
	conn, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	write := sql.OpenDB(sqlstore.Detach(conn))
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	db := &DB{path: path, dsn: dsn, write: write, now: time.Now,
		writes: make(chan *writeReq), closed: make(chan struct{}), writerDone: make(chan struct{})}
	if err := db.migrate(ctx, opt.Migrate); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	if n < 4 {
		n = 4
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	db.read = read
	db.Store = sqlstore.New(sqlstore.Dialect{
		Read:       read,
		Write:      db.inTx,
		WriteAlone: db.directTx,
		Snapshot:   sql.TxOptions{ReadOnly: true},
		Translate:  translate,
		IsForeignKey: func(err error) bool {
			var se *sqlite.Error
			return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		},
		ForUpdate:        "", // one writer at a time: nothing to lock against
		DeferForeignKeys: "PRAGMA defer_foreign_keys = ON",
		Committed:        db.hub.publish,
		Now:              db.now,
	})
	go db.writer()
	return db, nil
}

// Close stops the writer and closes both connection pools.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closed) })
	<-db.writerDone
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping reports whether the database file can be read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// migrate applies the embedded migrations in name order, each in its own
// transaction, recording them in schema_migrations.
func (db *DB) migrate(ctx context.Context, apply bool) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		var n int
		if err := db.write.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		if !apply {
			return fmt.Errorf("database schema is older than this version of Parley (migration %s not applied); run `parley migrate` or start with --migrate", version)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := db.directTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", version, db.now().UnixNano())
			return err
		}); err != nil {
			return fmt.Errorf("apply migration %s: %w", version, err)
		}
	}
	return nil
}

// writeReq is one write waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

// maxBatch bounds how many writes share one transaction.
const maxBatch = 128

// inTx runs fn in a write transaction; it returns once that transaction
// is committed (durably, with synchronous=FULL) or fn's work is rolled
// back. Writes that arrive while another commit is under way are batched
// into one transaction, each in a savepoint of its own: one fsync then
// serves many posters, and a write that fails undoes only itself.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- r:
	case <-db.closed:
		return fmt.Errorf("%w: the database is closed", comment.ErrUnavailable)
	}
	return <-r.done
}

// writer runs batches of writes, one transaction each, until Close.
func (db *DB) writer() {
	defer close(db.writerDone)
	for {
		var batch []*writeReq
		select {
		case r := <-db.writes:
			batch = append(batch, r)
		case <-db.closed:
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-db.writes:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		db.runBatch(batch)
	}
}

func (db *DB) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	ctx := context.Background() // each write has its own ctx; the batch must finish for the others
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.done <- translate(err)
		}
		return
	}
	defer tx.Rollback()
	for i, r := range batch {
		// A caller that gave up before its write began is told so, and
		// its write is not made. Once begun, a write runs to its end.
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if len(batch) == 1 {
			errs[i] = r.fn(tx)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			db.abort(batch, errs, i, err)
			return
		}
		if errs[i] = r.fn(tx); errs[i] != nil {
			tx.ExecContext(ctx, "ROLLBACK TO w")
		}
		// RELEASE fails only if SQLite rolled the whole transaction back
		// (a full disk, an I/O error). Going on would run the next write's
		// SAVEPOINT outside any transaction, committing it on its own.
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			db.abort(batch, errs, i+1, err)
			return
		}
	}
	if len(batch) == 1 && errs[0] != nil {
		batch[0].done <- translate(errs[0])
		return
	}
	err = tx.Commit()
	for i, r := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		r.done <- translate(errs[i])
	}
}

// abort ends a batch whose transaction SQLite has rolled back: the writes
// before next that succeeded were undone with it and fail with err; the
// writes from next on never ran and go back to the queue, to run in a
// batch of their own.
func (db *DB) abort(batch []*writeReq, errs []error, next int, err error) {
	for i, r := range batch[:next] {
		if errs[i] == nil {
			errs[i] = fmt.Errorf("%w: the batch was rolled back: %v", comment.ErrUnavailable, err)
		}
		r.done <- translate(errs[i])
	}
	for _, r := range batch[next:] {
		go func() {
			select {
			case db.writes <- r:
			case <-db.closed:
				r.done <- fmt.Errorf("%w: the database is closed", comment.ErrUnavailable)
			}
		}()
	}
}

// directTx runs fn in a transaction of its own, for long work that should
// not share a batch: migrations and restores.
func (db *DB) directTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return sqlstore.Tx(ctx, db.write, translate, fn)
}

// translate turns driver errors into the comment package's errors.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return comment.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %v", comment.ErrConflict, err)
		default:
			// The low byte is the primary result code.
			switch code & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
				return fmt.Errorf("%w: %v", comment.ErrUnavailable, err)
			}
		}
	}
	return err
}

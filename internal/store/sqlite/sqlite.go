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
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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

	scrubs atomic.Int64 // scrubs begun: how tests see that an erasure of nothing runs none

	// What the writer has done (WriterStats): batches committed or
	// rolled back, the writes in them, and the time it spent on them.
	batches, batchWrites, writerBusy atomic.Int64
}

// Options tune Open.
type Options struct {
	// Migrate applies pending schema migrations. When false, Open refuses a
	// database whose schema is older than this binary's.
	Migrate bool
	// Command opens the file for a short-lived command run beside a
	// server: no start-up statistics run (ANALYZE writes, and a server on
	// the file would take that for news) and no watch for other processes.
	Command bool
}

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// WAL lets readers run while the writer writes; synchronous=FULL makes
	// every commit durable on disk before Parley answers 2xx; foreign keys
	// keep replies tied to their thread; the busy timeout makes a second
	// process (a CLI command beside the server) wait instead of failing;
	// secure_delete overwrites deleted rows, so what a reader had erased
	// is not left in the file's free space.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(2)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	// The writer keeps its statements prepared (see stmtCache): it runs
	// the same few for every comment, one after another. And a statement
	// on it runs to its end whatever its caller does (sqlstore.Detach):
	// SQLite rolls back the whole transaction, with every other poster's
	// write in the batch, when one is interrupted.
	write := sql.OpenDB(sqlstore.Detach(stmtCacheConnector{dsn: dsn, driver: writerDriver}))
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
		SkipLocked:       "",
		DeferForeignKeys: "PRAGMA defer_foreign_keys = ON",
		TextMatch:        textMatch,
		Committed:        db.hub.publish,
		Scrub:            db.scrub,
		Now:              db.now,
	})
	go db.writer()
	if !opt.Command {
		go db.optimize(context.Background())
	}
	go db.indexLoop()
	// What this process sees from here on; whatever another process
	// commits after this point is news.
	if !opt.Command {
		seen, err := db.dataVersion(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %q: %w", path, translate(err))
		}
		go db.watchOthers(seen)
	}
	return db, nil
}

// dataVersion reads the writer connection's data_version. The rows are
// read to their end: a statement left stepped holds its read transaction
// open on the connection (the writer keeps its statements prepared), and
// with it the version it saw.
func (db *DB) dataVersion(ctx context.Context) (int64, error) {
	rows, err := db.write.QueryContext(ctx, "PRAGMA data_version")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var v int64
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
	}
	return v, rows.Err()
}

// othersEvery is how often the server looks for changes that another
// process (a parley command run beside it) committed to the file;
// othersAtMost is the longest it holds back a reset while another
// process goes on committing.
const (
	othersEvery  = 500 * time.Millisecond
	othersAtMost = 10 * time.Second
)

// watchOthers tells this process's listeners when another process has
// changed the database: a moderator's `parley comment spam`, an erasure
// or an import run from a terminal beside the server. Their events never
// reach this process's hub, so its cached threads would go on showing
// what was changed. SQLite's data_version, read on the writer's
// connection, moves only when another connection commits (this process
// has no other writer); then every listener gets a reset, which drops
// cached threads and sites and has open pages load theirs again.
//
// A reset costs every open page a reload of its thread, so a command
// that commits for minutes (parley avatars) must not send one at every
// look: the reset goes once the file has been quiet for a look, and at
// most every othersAtMost while it is not.
func (db *DB) watchOthers(last int64) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-db.closed
		cancel()
	}()
	t := time.NewTicker(othersEvery)
	defer t.Stop()
	var since time.Time // the first change not yet told, or zero
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := db.dataVersion(ctx)
		if err != nil {
			continue // closing, or busy: the next look sees it
		}
		now := time.Now()
		moved := v != last
		last = v
		switch {
		case moved && since.IsZero():
			since = now
			continue
		case moved && now.Sub(since) < othersAtMost:
			continue
		case since.IsZero():
			continue
		}
		since = time.Time{}
		db.hub.publish([]comment.Event{{Kind: comment.EventReset}})
	}
}

// optimize lets SQLite gather the statistics its query planner uses to
// choose between indexes, as SQLite advises for long-lived connections
// (PRAGMA optimize, with a bounded analysis so it stays quick on a large
// database). Without them a desk filter on one article, at 100,000
// comments, was planned on the wrong index and took 40 ms instead of 5.
// It runs after start (off the start path), and after restores and
// imports, which change the data the most.
func (db *DB) optimize(ctx context.Context) {
	if _, err := db.write.ExecContext(ctx, "PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002"); err != nil && !errors.Is(err, sql.ErrConnDone) {
		// Only the planner's choices suffer; nothing to report to a caller.
		return
	}
}

// Restore writes dumped rows in one transaction, then refreshes the
// planner's statistics.
func (db *DB) Restore(ctx context.Context, next func() (*store.Row, error)) error {
	if err := db.Store.Restore(ctx, next); err != nil {
		return err
	}
	db.optimize(ctx)
	return db.indexNew(ctx)
}

// Import adds imported rows in one transaction, then refreshes the
// planner's statistics.
func (db *DB) Import(ctx context.Context, siteID string, next func() (*store.Row, error)) (store.ImportCounts, error) {
	n, err := db.Store.Import(ctx, siteID, next)
	if err == nil {
		db.optimize(ctx)
		err = db.indexNew(ctx)
	}
	return n, err
}

// Pools are the database/sql pools, by name, for the operator's metrics:
// the readers' and the one writer's.
func (db *DB) Pools() map[string]*sql.DB {
	return map[string]*sql.DB{"sqlite_read": db.read, "sqlite_write": db.write}
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
		start := time.Now()
		db.runBatch(batch)
		db.writerBusy.Add(int64(time.Since(start)))
		db.batches.Add(1)
		db.batchWrites.Add(int64(len(batch)))
	}
}

// WriterStats says what the one writer has done since Open: transactions
// (batches), the writes they held, and the time it spent on them. Busy
// time growing nearly as fast as the clock means writes queue behind it;
// writes per batch say how much each commit (and its sync) served.
func (db *DB) WriterStats() (batches, writes int64, busy time.Duration) {
	return db.batches.Load(), db.batchWrites.Load(), time.Duration(db.writerBusy.Load())
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

// textMatch finds comments through the FTS5 index (migration 0030): every
// word, as a prefix ("casin" finds "casinos"), each quoted so nothing a
// person types is FTS5 syntax.
func textMatch(arg func(any) string, text string) string {
	words := sqlstore.Words(text)
	if len(words) == 0 {
		return "false"
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
	}
	return `rowid IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ` + arg(strings.Join(q, " ")) + `)`
}

// writerDriver opens the writer's connections (functions registered on
// it, as tests do, are there on the writer).
var writerDriver = &sqlite.Driver{}

// stmtCacheConnector opens connections that keep the statements they run
// prepared, for the writer's single connection. The driver prepares
// (parses and plans) every statement again each time it is run outside a
// prepared *sql.Stmt; for the writer, which runs the same few statements
// for every comment, preparing was a third of its time.
type stmtCacheConnector struct {
	dsn    string
	driver driver.Driver
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtCache{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.driver }

// stmtCache is a connection with its prepared statements by query text.
// database/sql uses a connection from one goroutine at a time, so it
// needs no lock; a statement whose rows are still being read is busy, and
// the same query meanwhile is prepared afresh.
type stmtCache struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // rows of it are open
}

// Bounds on what is kept: the statements Parley writes with are a few
// dozen; longer texts are scripts (migrations) run once.
const (
	maxCachedStmts   = 128
	maxCachedStmtLen = 2048
)

// cached returns the prepared statement for query, preparing and keeping
// it on first use, or nil when it is not to be kept or is busy.
func (c *stmtCache) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(query) > maxCachedStmtLen || len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// The rest of what database/sql asks of a connection, passed on.

func (c *stmtCache) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *stmtCache) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCache) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCache) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *stmtCache) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *stmtCache) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

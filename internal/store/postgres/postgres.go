// Package postgres is Parley's store for sites that outgrow one machine:
// several Parley instances share one PostgreSQL database and behave as
// one. It satisfies the same behaviour suite as package sqlite.
//
// The queries themselves are package sqlstore's, shared with SQLite; this
// package connects, applies its migrations, announces changes with
// NOTIFY and hears them with LISTEN, translates PostgreSQL's errors, and
// keeps the rate-limit buckets that instances share.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"parley/internal/comment"
	"parley/internal/store"
	"parley/internal/store/sqlstore"
)

var _ store.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store backed by PostgreSQL. The queries it shares with
// SQLite are sqlstore's, run over this package's dialect.
type DB struct {
	*sqlstore.Store
	db  *sql.DB
	cfg *pgx.ConnConfig
	log *slog.Logger
	now func() time.Time
	// channel is the NOTIFY channel every instance listens on; one per
	// schema, so deployments sharing a database do not hear each other.
	channel string
}

// Options tune Open.
type Options struct {
	// Migrate applies pending schema migrations. When false, Open refuses
	// a database whose schema is older than this binary's.
	Migrate bool
	// MaxConns caps the connection pool (default 10).
	MaxConns int
	// StatementTimeout bounds every statement (default 5s), so a stuck
	// query turns into a 503 instead of a hung reader.
	StatementTimeout time.Duration
	// Logger reports lost connections of the change listener.
	Logger *slog.Logger
	// Schema, when set, puts Parley's tables in that schema (created if
	// missing) instead of the connection's default. Tests use one per test.
	Schema string
}

// Open connects to the database at url (postgres://...).
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 10
	}
	if opt.StatementTimeout <= 0 {
		opt.StatementTimeout = 5 * time.Second
	}
	cfg.RuntimeParams["statement_timeout"] = fmt.Sprint(opt.StatementTimeout.Milliseconds())
	cfg.RuntimeParams["application_name"] = "parley"
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if opt.Schema != "" {
		if err := ensureSchema(ctx, cfg, opt.Schema); err != nil {
			return nil, err
		}
		cfg.RuntimeParams["search_path"] = opt.Schema
	}
	// A statement runs to its end whatever its caller does
	// (sqlstore.Detach): the driver would close the connection under a
	// cancelled one, and every hang-up would cost the pool a connection.
	db := sql.OpenDB(sqlstore.Detach(stdlib.GetConnector(*cfg)))
	db.SetMaxOpenConns(opt.MaxConns)
	db.SetMaxIdleConns(opt.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db, cfg: cfg, log: opt.Logger, now: time.Now, channel: "parley_events"}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.migrate(ctx, opt.Migrate); err != nil {
		db.Close()
		return nil, err
	}
	// Deployments in different schemas of one database must not hear
	// each other's changes.
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		db.Close()
		return nil, translate(err)
	}
	if schema != "public" {
		s.channel += "_" + schema
	}
	s.Store = sqlstore.New(sqlstore.Dialect{
		Read:       db,
		Write:      s.inTx,
		WriteAlone: s.inTx,
		// One snapshot for every query of a dump.
		Snapshot: sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
		// An export reads at the pace of whoever receives it.
		Unbounded: "SET LOCAL statement_timeout = 0",
		Translate: translate,
		IsForeignKey: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23503" // foreign_key_violation
		},
		// Instances write concurrently: a row read to be changed is locked.
		ForUpdate:        " FOR UPDATE",
		SkipLocked:       " FOR UPDATE SKIP LOCKED",
		DeferForeignKeys: "SET CONSTRAINTS ALL DEFERRED",
		TextMatch:        textMatch,
		Announce:         s.announce,
		Now:              s.now,
	})
	return s, nil
}

func ensureSchema(ctx context.Context, cfg *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return translate(fmt.Errorf("connect: %w", err))
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	return err
}

// ConnConfig returns the connection settings, for the change listener,
// which needs a connection of its own.
func (db *DB) ConnConfig() *pgx.ConnConfig { return db.cfg.Copy() }

// Pools are the database/sql pools, by name, for the operator's metrics.
func (db *DB) Pools() map[string]*sql.DB { return map[string]*sql.DB{"postgres": db.db} }

// Close closes the connection pool.
func (db *DB) Close() error { return db.db.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return translate(db.db.PingContext(ctx))
}

func (db *DB) migrate(ctx context.Context, apply bool) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Instances starting together take turns; the first one migrates.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7081746563)"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
			return err
		}
		names, err := fs.Glob(migrations, "migrations/*.sql")
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", version).Scan(&n); err != nil {
				return err
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
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply migration %s: %w", version, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)", version, db.now().UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction and commits it if fn returns nil. The
// caller's context bounds the wait for a connection; the transaction
// itself is not cancelled with it: a caller who hangs up abandons its
// write between two statements (fn fails and it rolls back), never in
// the middle of the commit, whose outcome would then be unknown.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the caller gave up: not the database's fault
		}
		return translate(err)
	}
	defer conn.Close()
	return sqlstore.Tx(context.WithoutCancel(ctx), conn, translate, fn)
}

// translate turns driver errors into the comment package's errors.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return comment.ErrNotFound
	}
	if errors.Is(err, comment.ErrNotFound) || errors.Is(err, comment.ErrClosed) || errors.Is(err, comment.ErrConflict) || errors.Is(err, comment.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %v", comment.ErrConflict, err)
		case pe.Code == "57014", // query_canceled (statement timeout)
			strings.HasPrefix(pe.Code, "08"),                           // connection exceptions
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin shutdown, crash, cannot connect now
			return fmt.Errorf("%w: %v", comment.ErrUnavailable, err)
		}
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") {
		return fmt.Errorf("%w: %v", comment.ErrUnavailable, err)
	}
	return err
}

// Backup is not done by Parley for PostgreSQL: pg_dump makes consistent,
// restorable backups of a running database, and parley export makes
// portable ones of a site.
func (db *DB) Backup(ctx context.Context, path string) error {
	return errors.New("parley backup copies SQLite databases; back up PostgreSQL with pg_dump, or a site with parley export")
}

// textMatch finds comments through the text-search index (migration
// 0030): every word, as a prefix, each a quoted lexeme so nothing a
// person types is tsquery syntax.
func textMatch(arg func(any) string, text string) string {
	words := sqlstore.Words(text)
	if len(words) == 0 {
		return "false"
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), "'", "''") + "':*"
	}
	// The matches are found first, through the index (OFFSET 0 keeps the
	// planner from folding the search into a walk of the newest comments
	// that computes every row's text vector: 26 ms instead of 3 at
	// 100,000 comments), and the rest of the filter then checks ids.
	return `id IN (SELECT id FROM comments WHERE to_tsvector('simple', markdown || ' ' || author_name) @@ to_tsquery('simple', ` + arg(strings.Join(q, " & ")) + `) OFFSET 0)`
}

// analyze refreshes the planner's statistics of the tables a restore or
// an import fills, at once rather than whenever autovacuum gets to them:
// without them, a desk search right after importing 100,000 comments was
// planned as a scan (750 ms) instead of on the text index.
func (db *DB) analyze(ctx context.Context) {
	db.db.ExecContext(ctx, "ANALYZE threads, comments")
}

// Restore writes dumped rows in one transaction, then refreshes the
// planner's statistics.
func (db *DB) Restore(ctx context.Context, next func() (*store.Row, error)) error {
	if err := db.Store.Restore(ctx, next); err != nil {
		return err
	}
	db.analyze(ctx)
	return nil
}

// Import adds imported rows in one transaction, then refreshes the
// planner's statistics.
func (db *DB) Import(ctx context.Context, siteID string, next func() (*store.Row, error)) (store.ImportCounts, error) {
	n, err := db.Store.Import(ctx, siteID, next)
	if err == nil {
		db.analyze(ctx)
	}
	return n, err
}

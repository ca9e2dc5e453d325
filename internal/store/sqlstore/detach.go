package sqlstore

import (
	"context"
	"database/sql/driver"
)

// Detach wraps a driver's connector so that statements on its
// connections run to their end whatever happens to their caller's
// context.
//
// A statement cancelled while it runs does harm beyond its caller: SQLite
// rolls back the whole transaction when a write statement is interrupted,
// and Parley's SQLite writer shares one transaction among many posters, so
// one poster hanging up would undo everyone's comments in the batch;
// PostgreSQL's driver closes the connection under a cancelled statement,
// so every hang-up costs the pool a connection (and a commit cut off that
// way leaves its outcome unknown). Statements are short (PostgreSQL's
// statement_timeout bounds them), so letting one finish costs little.
//
// The caller's context still counts everywhere else: database/sql checks
// it before each statement, waits for a free connection only as long as
// it lives, and rolls back a transaction begun under it when it ends, so
// a caller who gives up abandons its own work between statements and
// nobody else's.
func Detach(c driver.Connector) driver.Connector { return detachedConnector{c} }

type detachedConnector struct{ driver.Connector }

func (c detachedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return detachedConn{conn.(ctxConn)}, nil
}

// ctxConn is what both drivers' connections implement and database/sql
// needs; a wrapper must offer all of it, or database/sql falls back to
// the context-free methods.
type ctxConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
}

type detachedConn struct{ c ctxConn }

// Unwrap returns the driver's connection (for sql.Conn.Raw).
func (c detachedConn) Unwrap() driver.Conn { return c.c }

func (c detachedConn) Prepare(query string) (driver.Stmt, error) { return c.c.Prepare(query) }
func (c detachedConn) Close() error                              { return c.c.Close() }
func (c detachedConn) Begin() (driver.Tx, error)                 { return c.c.Begin() }

func (c detachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.c.BeginTx(context.WithoutCancel(ctx), opts)
}

func (c detachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.c.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil, err
	}
	return detachedStmt{s.(ctxStmt)}, nil
}

func (c detachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.c.ExecContext(context.WithoutCancel(ctx), query, args)
}

func (c detachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.c.QueryContext(context.WithoutCancel(ctx), query, args)
}

func (c detachedConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

func (c detachedConn) ResetSession(ctx context.Context) error { return c.c.ResetSession(ctx) }

// IsValid and CheckNamedValue pass on what the driver says, if it says
// anything.
func (c detachedConn) IsValid() bool {
	v, ok := c.c.(driver.Validator)
	return !ok || v.IsValid()
}

func (c detachedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.c.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type ctxStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type detachedStmt struct{ ctxStmt }

func (s detachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.ctxStmt.ExecContext(context.WithoutCancel(ctx), args)
}

func (s detachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.ctxStmt.QueryContext(context.WithoutCancel(ctx), args)
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
)

// Backup copies the database to a new file at path with VACUUM INTO: a
// consistent snapshot taken while readers and writers carry on.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s exists already; choose a new file", path)
	}
	// A connection of its own: the read pool is query_only, which VACUUM
	// INTO refuses, and the write connection must stay free for writers.
	// VACUUM INTO only reads this database, in one read transaction.
	conn, err := sql.Open("sqlite", db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

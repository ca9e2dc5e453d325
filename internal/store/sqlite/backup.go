package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Backup copies the database to a new file at path with VACUUM INTO: a
// consistent snapshot taken while readers and writers carry on.
func (db *DB) Backup(ctx context.Context, path string) error {
	// The copy holds the server's secrets: only its owner may read it.
	// VACUUM INTO fills an empty file and keeps its mode.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("backup: %s exists already; choose a new file", path)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// A connection of its own: the read pool is query_only, which VACUUM
	// INTO refuses, and the write connection must stay free for writers.
	// VACUUM INTO only reads this database, in one read transaction.
	conn, err := sql.Open("sqlite", db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// FindText lists the "table.column" of every text or bytea column of
// Parley's tables that holds needle: the store suite's proof that an
// erasure reached everywhere. (Deleted row versions stay in the table's
// files until VACUUM reclaims them; this sees live rows only.)
func (db *DB) FindText(ctx context.Context, needle string) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'bytea', 'character varying', 'json', 'jsonb')
		ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	var cols [][3]string
	for rows.Next() {
		var c [3]string
		if err := rows.Scan(&c[0], &c[1], &c[2]); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, c)
	}
	rows.Close()
	var found []string
	for _, c := range cols {
		col := pgx.Identifier{c[1]}.Sanitize()
		expr := "position(convert_to($1, 'UTF8') in " + col + ")"
		if c[2] != "bytea" {
			expr = "position($1 in " + col + "::text)"
		}
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s > 0`, pgx.Identifier{c[0]}.Sanitize(), expr)
		if err := db.db.QueryRowContext(ctx, q, needle).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c[0], c[1], err)
		}
		if n > 0 {
			found = append(found, c[0]+"."+c[1])
		}
	}
	return found, nil
}

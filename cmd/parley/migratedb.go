package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"parley/internal/comment"
	"parley/internal/store"
)

// runMigrateDB copies every site, thread, comment, like and secret from
// one database to another, empty one: SQLite to PostgreSQL when a site
// outgrows one machine, or back. The source is read from one snapshot and
// the target written in one transaction, so a failed copy leaves nothing.
func runMigrateDB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-db", stderr)
	var from, to dbOptions
	fs.StringVar(&from.dsn, "from", "", "database to copy from (SQLite path or postgres:// URL)")
	fs.StringVar(&to.dsn, "to", "", "empty database to copy into")
	if err := parse(fs, args); err != nil {
		return err
	}
	if from.dsn == "" || to.dsn == "" {
		return usageError{"migrate-db needs --from and --to"}
	}
	if from.dsn == to.dsn {
		return usageError{"--from and --to name the same database"}
	}
	from.migrate, to.migrate = true, true
	src, err := openStore(ctx, from)
	if err != nil {
		return fmt.Errorf("open %s: %w", redactDSN(from.dsn), err)
	}
	defer src.Close()
	dst, err := openStore(ctx, to)
	if err != nil {
		return fmt.Errorf("open %s: %w", redactDSN(to.dsn), err)
	}
	defer dst.Close()

	if sites, err := dst.Sites(ctx); err != nil {
		return err
	} else if len(sites) > 0 {
		return fmt.Errorf("%s is not empty (it has %d sites); migrate-db copies into an empty database only", redactDSN(to.dsn), len(sites))
	}
	n, err := copyStore(ctx, src, dst)
	if errors.Is(err, comment.ErrConflict) {
		return fmt.Errorf("%s is not empty; migrate-db copies into an empty database only", redactDSN(to.dsn))
	}
	if err != nil {
		// The error names the row the target refused (sqlstore's restore
		// says which); the transaction rolled everything back.
		return fmt.Errorf("nothing was copied to %s: %w", redactDSN(to.dsn), err)
	}
	fmt.Fprintf(stdout, "copied %d sites, %d threads, %d comments, %d likes from %s to %s\n",
		n.sites, n.threads, n.comments, n.likes, redactDSN(from.dsn), redactDSN(to.dsn))
	return nil
}

type copyCounts struct{ sites, threads, comments, likes int }

// copyStore streams src's dump into dst's restore through a small buffer,
// so memory stays bounded whatever the database's size.
func copyStore(ctx context.Context, src, dst store.Store) (copyCounts, error) {
	var n copyCounts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan *store.Row, 256)
	dumpErr := make(chan error, 1)
	go func() {
		defer close(rows)
		dumpErr <- src.Dump(ctx, "", func(r *store.Row) error {
			select {
			case rows <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	err := dst.Restore(ctx, func() (*store.Row, error) {
		r, ok := <-rows
		if !ok {
			// The dump is over; it must have ended well for the copy to commit.
			if err := <-dumpErr; err != nil {
				return nil, fmt.Errorf("read source: %w", err)
			}
			return nil, io.EOF
		}
		switch {
		case r.Site != nil:
			n.sites++
		case r.Thread != nil:
			n.threads++
		case r.Comment != nil:
			n.comments++
		case r.Like != nil:
			n.likes++
		}
		return r, nil
	})
	return n, err
}

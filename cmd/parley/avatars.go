package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/internal/comment"
	"parley/internal/gravatar"
	"parley/internal/store"
)

// runAvatars looks up, at a Gravatar-compatible service, the pictures of
// a site's guests who commented before serve --gravatar was on (imported
// comments, say); serve then shows them. Pictures already looked up less
// than a week ago are not asked for again, so it can be run any time.
//
//	parley avatars --site ID --gravatar URL [--workers 4]
func runAvatars(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("avatars", stderr)
	dbo := dbOptions{migrate: true}
	addDBFlags(fs, &dbo)
	site := fs.String("site", "", "site id")
	url := fs.String("gravatar", "", "the Gravatar-compatible service, as given to serve --gravatar")
	workers := fs.Int("workers", 4, "lookups at a time")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *site == "" || *url == "" {
		return usageError{"avatars needs --site and --gravatar (e.g. https://gravatar.com/avatar/)"}
	}
	if *workers < 1 || *workers > 32 {
		return usageError{"--workers must be between 1 and 32"}
	}
	st, err := openStore(ctx, dbo)
	if err != nil {
		return err
	}
	defer st.Close()
	finder, err := gravatar.New(gravatar.Config{URL: *url, Store: st})
	if err != nil {
		return usageError{"--gravatar: " + strings.TrimPrefix(err.Error(), "gravatar: ")}
	}
	svc, err := newService(ctx, st, nil)
	if err != nil {
		return err
	}
	if _, err := svc.Site(ctx, *site); err != nil {
		return fmt.Errorf("site %q: %w", *site, err)
	}
	// Every guest address of the site's published comments, once; the
	// lookups wait until the database has been read.
	guests := map[string]string{} // avatar key → address
	err = st.Dump(ctx, *site, func(r *store.Row) error {
		if c := r.Comment; c != nil && c.Author.Identity == "" && c.Author.Email != "" && c.Status == comment.StatusApproved {
			guests[svc.AvatarKey(c.Author)] = c.Author.Email
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(guests))

	var (
		mu                  sync.Mutex
		found, none, failed int
		lastErr             error
		next                = make(chan string)
		wg                  sync.WaitGroup
		start, lastProgress = time.Now(), time.Now()
	)
	for range *workers {
		wg.Go(func() {
			for k := range next {
				ok, err := finder.Find(ctx, k, guests[k])
				if ctx.Err() != nil {
					continue // stopped: not a failure of the service
				}
				mu.Lock()
				switch {
				case err != nil:
					failed++
					lastErr = err
				case ok:
					found++
				default:
					none++
				}
				if done := found + none + failed; time.Since(lastProgress) > 2*time.Second {
					lastProgress = time.Now()
					fmt.Fprintf(stderr, "%d of %d addresses…\n", done, len(keys))
				}
				mu.Unlock()
			}
		})
	}
send:
	for _, k := range keys {
		select {
		case next <- k:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	fmt.Fprintf(stdout, "%d guest addresses: %d with a picture, %d without, %d failed (%s)\n",
		len(keys), found, none, failed, time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%d lookups failed, the last with: %w", failed, lastErr)
	}
	return ctx.Err()
}

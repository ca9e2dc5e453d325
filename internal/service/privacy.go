package service

import (
	"bufio"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"strings"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// PrivacyRequest names a reader whose data is exported or erased: by
// email address, log-in identity ("provider:subject") or both, on one
// site or (SiteID "") every site.
type PrivacyRequest struct {
	SiteID   string
	Email    string
	Identity string
	// Anonymise, on an erasure, keeps the reader's published comments
	// without their author on every site, whatever the sites chose.
	Anonymise bool
}

// ExportVersion is the version of the export's format ("parley_export").
const ExportVersion = 1

// subject checks a request and computes the keyed hashes under which
// the store keeps the reader's other rows.
func (s *Service) subject(ctx context.Context, r PrivacyRequest) (*store.PrivacySubject, error) {
	subj := &store.PrivacySubject{SiteID: strings.TrimSpace(r.SiteID), Identity: strings.TrimSpace(r.Identity)}
	if e := strings.TrimSpace(r.Email); e != "" {
		var err error
		if subj.Email, err = normalizeEmail(e); err != nil {
			return nil, err
		}
	}
	if subj.Identity != "" {
		p, sub, ok := strings.Cut(subj.Identity, ":")
		if !ok || !validProvider(p) || sub == "" || len(subj.Identity) > 300 || strings.ContainsAny(sub, " \t\r\n\"\\") {
			return nil, comment.Invalid("identity", "A log-in identity is written provider:subject, e.g. github:12345.")
		}
	}
	if subj.Email == "" && subj.Identity == "" {
		return nil, comment.Missing("email", "Say whose data: an email address or a log-in identity.")
	}
	if subj.SiteID != "" {
		if _, err := s.store.Site(ctx, subj.SiteID); err != nil {
			return nil, err
		}
	}
	var authors []comment.Author
	if subj.Email != "" {
		authors = append(authors, comment.Author{Email: subj.Email})
		if s.notify != nil && s.notify.Links != nil {
			subj.EmailKey = s.notify.Links.EmailKey(subj.Email)
		}
		if s.verifiedKey != nil {
			subj.VerifiedKey = s.verifiedKey(subj.Email)
		}
	}
	if subj.Identity != "" {
		authors = append(authors, comment.Author{Identity: subj.Identity})
		subj.Reporters = append(subj.Reporters, "id:"+s.sign.Hash("reporter", subj.Identity, 12))
	}
	for _, a := range authors {
		subj.AvatarKeys = append(subj.AvatarKeys, s.AvatarKey(a))
		subj.Authors = append(subj.Authors, store.AuthorKey(a))
		subj.ErasedKeys = append(subj.ErasedKeys, s.erasedKeys(a)...)
	}
	return subj, nil
}

// erasedKeys names an author by keyed hashes of their address and their
// log-in, as an erasure keeps them and an import looks them up: nobody
// without the server's secret can tell whose they are.
func (s *Service) erasedKeys(a comment.Author) []string {
	var keys []string
	if e := strings.ToLower(strings.TrimSpace(a.Email)); e != "" {
		keys = append(keys, "email:"+s.sign.Hash("erased-author", e, 16))
	}
	if a.Identity != "" {
		keys = append(keys, "identity:"+s.sign.Hash("erased-author", a.Identity, 16))
	}
	return keys
}

// erasedAuthor reports whether a comment by a was written by a reader
// erased after they wrote it (erased maps ErasedAuthors' keys to their
// erasure); written is when, zero when the source does not say, which
// counts as before.
func (s *Service) erasedAuthor(erased map[string]time.Time, a comment.Author, written time.Time) bool {
	if len(erased) == 0 {
		return false
	}
	for _, k := range s.erasedKeys(a) {
		if t, ok := erased[k]; ok && written.Before(t) {
			return true
		}
	}
	return false
}

// privacyTarget names the reader in the audit log without their address
// or log-in: a keyed hash, which the same request made again reproduces.
func (s *Service) privacyTarget(subj *store.PrivacySubject) string {
	return "reader:" + s.sign.Hash("privacy", subj.Email+"\x00"+subj.Identity, 8)
}

// CanPrivacy checks that a may answer a privacy request: owners for
// every site, a site's admins (a desk member or an API token) for theirs.
func (s *Service) CanPrivacy(a Actor, r PrivacyRequest) error {
	if a.IsOwner() {
		return nil
	}
	if site := strings.TrimSpace(r.SiteID); site != "" {
		return a.can(site, staff.RoleAdmin)
	}
	return comment.ErrForbidden
}

// CheckPrivacyRequest checks a request without acting on it, so that a
// refusal can be told before an export's first byte.
func (s *Service) CheckPrivacyRequest(ctx context.Context, r PrivacyRequest) error {
	_, err := s.subject(ctx, r)
	return err
}

// ExportReader writes, as one JSON object, everything Parley keeps about
// the reader r names (see store.PrivacyStore). Owners may for every
// site, a site's admins for theirs (CanPrivacy). The audit log records
// that it was done, not what it held.
func (s *Service) ExportReader(ctx context.Context, a Actor, r PrivacyRequest, w io.Writer) error {
	if err := s.CanPrivacy(a, r); err != nil {
		return err
	}
	subj, err := s.subject(ctx, r)
	if err != nil {
		return err
	}
	if err := s.store.AddAudit(ctx, a.entry(subj.SiteID, "privacy.export", s.privacyTarget(subj))); err != nil {
		return err
	}
	return s.writeExport(ctx, subj, w)
}

// EraseReader erases everything Parley keeps about the reader r names.
// Owners may for every site, a site's admins for theirs. Each site's comments are deleted or anonymised as the site
// chose (comment.Community.Anonymise), or anonymised everywhere with
// r.Anonymise. The audit entry, in the same transaction, holds counts.
func (s *Service) EraseReader(ctx context.Context, a Actor, r PrivacyRequest) (store.EraseCounts, error) {
	if err := s.CanPrivacy(a, r); err != nil {
		return store.EraseCounts{}, err
	}
	subj, err := s.subject(ctx, r)
	if err != nil {
		return store.EraseCounts{}, err
	}
	return s.erase(ctx, a, subj, r.Anonymise)
}

// erase erases the reader subj names, for actor a.
func (s *Service) erase(ctx context.Context, a Actor, subj *store.PrivacySubject, anonymise bool) (store.EraseCounts, error) {
	sites, err := s.store.Sites(ctx)
	if err != nil {
		return store.EraseCounts{}, err
	}
	anon := map[string]bool{}
	for _, site := range sites {
		if subj.SiteID != "" && site.ID != subj.SiteID {
			continue
		}
		c, _, err := s.store.Community(ctx, site.ID)
		if err != nil {
			return store.EraseCounts{}, err
		}
		anon[site.ID] = anonymise || c.Anonymise
	}
	n, err := s.store.EraseReader(ctx, subj, anon, func(n store.EraseCounts) *staff.AuditEntry {
		e := a.entry(subj.SiteID, "privacy.erase", s.privacyTarget(subj))
		e.After = auditJSON(n)
		e.Count = n.Deleted + n.Anonymised
		return e
	})
	if err != nil {
		return n, err
	}
	// Built threads held the comments' authors and text.
	s.threads.reset()
	return n, nil
}

// validProvider: provider ids are lower-case letters, digits and dashes
// ("github", "sso-ledger", "oidc-acme").
func validProvider(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// writeExport streams the export: the store's records, grouped by kind,
// each written as it is read.
func (s *Service) writeExport(ctx context.Context, subj *store.PrivacySubject, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	head, err := json.Marshal(struct {
		Version  int       `json:"parley_export"`
		Exported time.Time `json:"exported"`
		Email    string    `json:"email,omitempty"`
		Identity string    `json:"identity,omitempty"`
		Site     string    `json:"site,omitempty"`
	}{ExportVersion, s.now().UTC(), subj.Email, subj.Identity, subj.SiteID})
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-1]) // the object stays open for the records
	at, first := -1, false
	open := func(upto int) {
		for at < upto {
			if at >= 0 {
				bw.WriteString("\n]")
			}
			at++
			fmt.Fprintf(bw, ",\n%q: [", store.RecordKinds[at])
			first = true
		}
	}
	kindIndex := map[string]int{}
	for i, k := range store.RecordKinds {
		kindIndex[k] = i
	}
	err = s.store.ExportReader(ctx, subj, func(kind string, v any) error {
		i, ok := kindIndex[kind]
		if !ok || i < at {
			return fmt.Errorf("export: record of kind %q out of order", kind)
		}
		open(i)
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	open(len(store.RecordKinds) - 1)
	bw.WriteString("\n]\n}\n")
	return bw.Flush()
}

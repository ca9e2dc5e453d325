package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/internal/comment"
	"parley/internal/staff"
	"parley/internal/store"
)

// An author as the desk sees them: every earlier decision on their
// comments and every sanction, with who made it, and the moderators'
// private notes.

// AuthorView is one author of a site.
type AuthorView struct {
	// Key names the author: "identity:…", "email:…" or "name:…" (see
	// store.AuthorKey); notes are kept under it.
	Key     string
	Author  comment.Author // from their latest comment; Email blank unless Private
	History *store.AuthorHistory
	// Decisions are the audit entries about their comments, newest first.
	Decisions []*staff.AuditEntry
	// Sanctions that match them (in force or not), newest first.
	Sanctions []*comment.Sanction
	Notes     []*comment.Note
	// Recent are their latest comments on the site.
	Recent []*Card
	// Private: the viewer may see emails and address hashes.
	Private bool
	// Comment is the comment the author was looked up by, if any.
	Comment string
	// HasEmail says the author gave an address (even if the viewer may
	// not see it): they can be sanctioned by it.
	HasEmail bool
}

// MaxNoteLen bounds a moderator's note.
const MaxNoteLen = 2000

// Author returns an author of a site, found by one of their comments
// (commentID) or by key ("identity:…", "email:…", "name:…"; an email key
// only for staff who may see emails).
func (s *Service) Author(ctx context.Context, a Actor, siteID, commentID, key string) (*AuthorView, error) {
	site, err := s.DeskSite(ctx, a, siteID)
	if err != nil {
		return nil, err
	}
	v := &AuthorView{Private: a.SeesPrivate(site), Comment: commentID}
	var q Query
	switch {
	case commentID != "":
		c, err := s.Comment(ctx, siteID, commentID)
		if err != nil {
			return nil, err
		}
		v.Author, v.Key = c.Author, store.AuthorKey(c.Author)
	case strings.HasPrefix(key, "identity:"):
		v.Author.Identity, v.Key = strings.TrimPrefix(key, "identity:"), key
	case strings.HasPrefix(key, "email:") && v.Private:
		v.Author.Email, v.Key = strings.ToLower(strings.TrimPrefix(key, "email:")), strings.ToLower(key)
	case strings.HasPrefix(key, "name:"):
		v.Author.Name, v.Key = strings.TrimPrefix(key, "name:"), strings.ToLower(key)
	default:
		return nil, comment.Invalid("author", "Name the author by one of their comments, or as identity:…, email:… or name:….")
	}
	target := store.SanctionTarget{SiteID: siteID}
	switch {
	case v.Author.Identity != "":
		target.Identity, q.Author = v.Author.Identity, v.Author.Identity
	case v.Author.Email != "":
		target.Email, q.Email = v.Author.Email, v.Author.Email
	default:
		target.Name, q.Author = v.Author.Name, v.Author.Name
	}
	q.Limit = 20
	page, err := s.Queue(ctx, a, siteID, q)
	if err != nil {
		return nil, err
	}
	v.Recent = page.Cards
	if commentID == "" && len(page.Cards) > 0 {
		v.Author = page.Cards[0].Comment.Author // as they last wrote it (email blanked for those who may not see it)
	}
	hs, err := s.store.AuthorHistories(ctx, siteID, []comment.Author{v.Author})
	if err != nil {
		return nil, err
	}
	v.History = hs[v.Key]
	if v.Decisions, err = s.store.AuthorAudit(ctx, siteID, target, 100); err != nil {
		return nil, err
	}
	// Sanctions by any way they could match: the log-in, the email and
	// its domain, the addresses of the recent comments.
	targets := []store.SanctionTarget{target}
	if target.Identity != "" && v.Author.Email != "" {
		targets = append(targets, store.SanctionTarget{Email: strings.ToLower(v.Author.Email)})
	}
	if at := strings.LastIndexByte(v.Author.Email, '@'); at >= 0 {
		targets = append(targets, store.SanctionTarget{EmailDomain: strings.ToLower(v.Author.Email[at+1:])})
	}
	for _, c := range v.Recent {
		if c.Comment.IPHash != "" {
			targets = append(targets, store.SanctionTarget{IPHash: c.Comment.IPHash})
		}
	}
	list, err := s.store.AuthorSanctions(ctx, siteID, targets)
	if err != nil {
		return nil, err
	}
	v.Sanctions = maskAll(list, v.Private)
	if v.Notes, err = s.store.Notes(ctx, siteID, v.Key); err != nil {
		return nil, err
	}
	v.HasEmail = v.Author.Email != ""
	if !v.Private {
		v.Author.Email = ""
		if strings.HasPrefix(v.Key, "email:") {
			// The key is the address: keep it out of the page.
			v.Key = ""
		}
	}
	return v, nil
}

// AddNote writes a moderator's private note on an author (named by key,
// or by one of their comments): moderators of the site and up may.
func (s *Service) AddNote(ctx context.Context, a Actor, siteID, commentID, key, text string) (*comment.Note, error) {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, comment.Missing("text", "Write the note.")
	}
	if utf8.RuneCountInString(text) > MaxNoteLen || !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 {
		return nil, comment.Invalid("text", fmt.Sprintf("A note has at most %d characters.", MaxNoteLen))
	}
	if commentID != "" {
		c, err := s.Comment(ctx, siteID, commentID)
		if err != nil {
			return nil, err
		}
		key = store.AuthorKey(c.Author)
	}
	if !strings.HasPrefix(key, "identity:") && !strings.HasPrefix(key, "email:") && !strings.HasPrefix(key, "name:") {
		return nil, comment.Invalid("author", "Name the author by one of their comments, or as identity:…, email:… or name:….")
	}
	n := &comment.Note{SiteID: siteID, Author: key, Text: text, Actor: a.Name, Created: s.now().UTC()}
	e := a.entry(siteID, "note.add", "")
	e.After = auditJSON(map[string]string{"text": text})
	if err := s.store.AddNote(ctx, n, e); err != nil {
		return nil, err
	}
	return n, nil
}

// DeleteNote removes a note; its text stays in the audit log.
func (s *Service) DeleteNote(ctx context.Context, a Actor, siteID string, id int64) error {
	if err := a.can(siteID, staff.RoleModerator); err != nil {
		return err
	}
	e := a.entry(siteID, "note.delete", fmt.Sprintf("note:%d", id))
	return s.store.DeleteNote(ctx, siteID, id, e)
}

package service

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"parley/internal/auth"
	"parley/internal/comment"
	"parley/internal/staff"
)

// Staff actions on sites: creating them, changing their settings.

// CreateSite validates and stores a new site. Only owners (and the
// operator) create sites.
func (s *Service) CreateSite(ctx context.Context, a Actor, site *comment.Site) error {
	if !a.IsOwner() {
		return comment.ErrForbidden
	}
	if err := NormalizeSite(site); err != nil {
		return err
	}
	e := a.entry(site.ID, "site.add", "site:"+site.ID)
	e.After = auditJSON(siteAudit(site))
	return s.store.CreateSite(ctx, site, e)
}

// UpdateSite validates and stores changed site settings: admins of the
// site and owners may. The audit entry records the fields that changed.
func (s *Service) UpdateSite(ctx context.Context, a Actor, site *comment.Site) error {
	if err := a.can(site.ID, staff.RoleAdmin); err != nil {
		return err
	}
	if err := NormalizeSite(site); err != nil {
		return err
	}
	old, err := s.store.Site(ctx, site.ID)
	if err != nil {
		return err
	}
	before, after := siteAudit(old), siteAudit(site)
	for k, v := range before {
		if slices.Equal(v, after[k]) {
			delete(before, k)
			delete(after, k)
		}
	}
	if old.SSOSecret != site.SSOSecret {
		// Never the secret itself: only that it changed.
		before["sso_secret"], after["sso_secret"] = []string{presence(old.SSOSecret)}, []string{presence(site.SSOSecret)}
	}
	if len(after) == 0 {
		return nil
	}
	e := a.entry(site.ID, "site.update", "site:"+site.ID)
	e.Before, e.After = auditJSON(before), auditJSON(after)
	if err := s.store.UpdateSite(ctx, site, e); err != nil {
		return err
	}
	s.sites.Delete(site.ID)
	// Built threads carry the old settings (reply depth, edit window).
	s.threads.reset()
	return nil
}

// siteAudit is a site's settings as the audit log records them: never its
// secrets (the SSO secret, the API key hash).
func siteAudit(s *comment.Site) map[string][]string {
	providers := []string{"all"}
	if s.Providers != nil {
		providers = append([]string{}, s.Providers...)
	}
	hide := "false"
	if s.HidePrivate {
		hide = "true"
	}
	return map[string][]string{
		"name": {s.Name}, "origins": s.Origins, "moderation": {string(s.Moderation)}, "guests": {string(s.Guests)},
		"providers": providers, "max_depth": {strconv.Itoa(s.MaxDepth)}, "edit_window": {s.EditWindow.Round(time.Second).String()},
		"ip_retention": {s.IPRetention.String()},
		"hide_private": {hide},
	}
}

// NewAPIKey gives a site a new key for the Akismet-compatible API,
// replacing any old one, and returns it. Only its hash is stored, so this
// is the one time the key can be shown. Admins of the site may.
func (s *Service) NewAPIKey(ctx context.Context, a Actor, siteID string) (string, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return "", err
	}
	key := hex.EncodeToString(randomBytes(16))
	if err := s.store.SetAPIKeyHash(ctx, siteID, apiKeyHash(key), a.entry(siteID, "site.api_key", "site:"+siteID)); err != nil {
		return "", err
	}
	s.sites.Delete(siteID)
	return key, nil
}

// SetSSOSecret gives a site a new secret for its own accounts' tokens
// (or, with remove, none), returns it, and ends the sessions started
// with the old one: a secret is changed because it may have leaked. It
// returns how many sessions ended. The audit log records the change,
// never the secret.
func (s *Service) SetSSOSecret(ctx context.Context, a Actor, siteID string, remove bool) (secret string, ended int, err error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return "", 0, err
	}
	site, err := s.store.Site(ctx, siteID)
	if err != nil {
		return "", 0, err
	}
	if !remove {
		secret = hex.EncodeToString(randomBytes(32))
	}
	e := a.entry(siteID, "site.sso_secret", "site:"+siteID)
	e.Before = auditJSON(map[string]bool{"sso": site.SSOSecret != ""})
	e.After = auditJSON(map[string]bool{"sso": !remove})
	site.SSOSecret = secret
	if err := s.store.UpdateSite(ctx, site, e); err != nil {
		return "", 0, err
	}
	s.sites.Delete(siteID)
	ended, err = s.store.DeleteProviderSessions(ctx, auth.SSOProviderFor(siteID))
	if err != nil {
		return secret, 0, fmt.Errorf("the secret changed, but its readers' sessions could not be ended: %w", err)
	}
	return secret, ended, nil
}

// LogOutAuthor ends every session — on every device and every site of the
// server — of the logged-in reader who wrote a comment of the site: for a
// stolen account, or a reader the site no longer wants to hear from.
// Returns the comment and how many sessions ended; a guest's comment is a
// *comment.ValidationError (guests have no session).
func (s *Service) LogOutAuthor(ctx context.Context, a Actor, siteID, commentID string) (*comment.Comment, int, error) {
	if err := a.can(siteID, staff.RoleAdmin); err != nil {
		return nil, 0, err
	}
	c, err := s.Comment(ctx, siteID, commentID)
	if err != nil {
		return nil, 0, err
	}
	if c.Author.Identity == "" {
		return c, 0, &comment.ValidationError{Field: "id", Code: "guest", Message: fmt.Sprintf("Comment %s was written by a guest, who has no log-in to end.", commentID)}
	}
	e := a.entry(siteID, "site.logout_author", "comment:"+commentID)
	n, err := s.store.EndReaderSessions(ctx, c.Author.Identity, e)
	return c, n, err
}

// presence says whether a secret is set, for the audit log.
func presence(secret string) string {
	if secret == "" {
		return "none"
	}
	return "set (not shown)"
}

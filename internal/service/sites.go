package service

import (
	"context"
	"slices"
	"strconv"
	"time"

	"parley/internal/comment"
	"parley/internal/staff"
)

// Staff actions on sites: creating them, changing their settings.

// CreateSiteAs validates and stores a new site. Only owners (and the
// operator) create sites.
func (s *Service) CreateSiteAs(ctx context.Context, a Actor, site *comment.Site) error {
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

// UpdateSiteAs validates and stores changed site settings: admins of the
// site and owners may. The audit entry records the fields that changed.
func (s *Service) UpdateSiteAs(ctx context.Context, a Actor, site *comment.Site) error {
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
		"hide_private": {hide},
	}
}

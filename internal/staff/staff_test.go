package staff

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPassword_HashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the chosen parameters", h)
	}
	if err := VerifyPassword(h, "correct horse battery"); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery ", strings.Repeat("x", 2000)} {
		if err := VerifyPassword(h, wrong); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("password %.20q: got %v, want ErrWrongPassword", wrong, err)
		}
	}
	h2, _ := HashPassword("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestPassword_Refusals(t *testing.T) {
	for _, p := range []string{"short", strings.Repeat("é", 600)} {
		if _, err := HashPassword(p); err == nil {
			t.Errorf("HashPassword(%.10q…) accepted", p)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA", "$argon2id$v=19$m=8,t=1,p=1$!!$AA"} {
		if err := VerifyPassword(bad, "whatever password"); err == nil || errors.Is(err, ErrWrongPassword) {
			t.Errorf("hash %q: got %v, want an unreadable-hash error", bad, err)
		}
	}
}

func TestMember_Roles(t *testing.T) {
	mod := Member{Grants: []Grant{{SiteID: "a", Role: RoleModerator}, {SiteID: "b", Role: RoleAdmin}}}
	if got := mod.RoleOn("a"); got != RoleModerator {
		t.Errorf("role on a = %q", got)
	}
	if got := mod.RoleOn("b"); got != RoleAdmin {
		t.Errorf("role on b = %q", got)
	}
	if got := mod.RoleOn("c"); got != "" {
		t.Errorf("role on c = %q, want none", got)
	}
	if mod.IsOwner() {
		t.Error("a moderator is an owner")
	}
	if got := strings.Join(mod.Sites(), ","); got != "a,b" {
		t.Errorf("sites = %q", got)
	}
	owner := Member{Grants: []Grant{{Role: RoleOwner}}}
	if owner.RoleOn("anything") != RoleOwner || !owner.IsOwner() || owner.Sites() != nil {
		t.Error("an owner is not owner everywhere")
	}
	if !RoleAdmin.AtLeast(RoleModerator) || RoleModerator.AtLeast(RoleAdmin) || Role("").AtLeast(Role("")) {
		t.Error("role order is wrong")
	}
}

func TestSession_Live(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := Session{Created: t0, Seen: t0}
	if !s.Live(t0.Add(IdleTimeout - time.Second)) {
		t.Error("session dead before the idle limit")
	}
	if s.Live(t0.Add(IdleTimeout)) {
		t.Error("session alive after the idle limit")
	}
	s.Seen = t0.Add(AbsoluteTimeout - time.Minute)
	if s.Live(t0.Add(AbsoluteTimeout)) {
		t.Error("a session in use outlives the absolute limit")
	}
}

func TestNewSecret(t *testing.T) {
	a, ha := NewSecret("pst_")
	b, _ := NewSecret("pst_")
	if a == b || !strings.HasPrefix(a, "pst_") || len(a) < 40 {
		t.Errorf("secrets %q %q", a, b)
	}
	if HashSecret(a) != ha || ha == a {
		t.Error("hash does not match the secret")
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, _ := HashPassword("correct horse battery")
	for b.Loop() {
		VerifyPassword(h, "correct horse battery")
	}
}

package auth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"parley/internal/auth"
)

func TestSecret_NeverPrinted(t *testing.T) {
	type config struct {
		User     string
		Password auth.Secret
	}
	c := config{User: "u", Password: "hunter2-secret"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", slog.Any("c", c), slog.Any("p", c.Password))
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c.Password, c.Password), logged.String(), string(js)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if !strings.Contains(string(js), "[redacted]") {
		t.Errorf("json = %s; want the secret shown as [redacted]", js)
	}
	var back config
	if err := json.Unmarshal([]byte(`{"Password":"from-file"}`), &back); err != nil || string(back.Password) != "from-file" {
		t.Errorf("a secret must still load from JSON: %q, %v", back.Password, err)
	}
	if auth.Secret("").String() != "" {
		t.Error("an empty secret should print as empty, so a missing one is visible")
	}
}

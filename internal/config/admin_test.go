package config

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAdminPasswordSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from the file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"none", nil, nil, ""},
		{"file", nil, map[string]string{"HERALD_ADMIN_PASSWORD_FILE": file}, "from the file"},
		{"env beats file", nil, map[string]string{"HERALD_ADMIN_PASSWORD": "from env", "HERALD_ADMIN_PASSWORD_FILE": file}, "from env"},
		{"flag beats env", []string{"--admin-password", "from flag"}, map[string]string{"HERALD_ADMIN_PASSWORD": "from env"}, "from flag"},
		{"flag beats file", []string{"--admin-password", "from flag"}, map[string]string{"HERALD_ADMIN_PASSWORD_FILE": file}, "from flag"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadServe(c.args, env(c.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got.AdminPassword != c.want {
				t.Errorf("AdminPassword = %q, want %q", got.AdminPassword, c.want)
			}
		})
	}
}

func TestAdminPasswordFileProblems(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(t.TempDir(), "missing"), empty} {
		_, err := LoadServe([]string{"--log-level", "loud"}, env(map[string]string{"HERALD_ADMIN_PASSWORD_FILE": p}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "HERALD_ADMIN_PASSWORD_FILE") || !strings.Contains(err.Error(), "log-level") {
			t.Errorf("file %s: error %v, want it and the log-level problem reported together", p, err)
		}
	}
}

func TestRedactedHidesAdminPassword(t *testing.T) {
	lines := Serve{AdminPassword: "correct horse battery"}.Redacted()
	for _, l := range lines {
		if strings.Contains(l, "horse") {
			t.Errorf("password shown: %s", l)
		}
	}
	if !slices.Contains(lines, "admin-password=REDACTED") {
		t.Errorf("Redacted() = %q, want admin-password=REDACTED", lines)
	}
	if !slices.Contains(Serve{}.Redacted(), "admin-password=") {
		t.Errorf("an unset password should show as empty")
	}
}

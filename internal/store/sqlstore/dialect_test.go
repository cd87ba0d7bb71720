package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                                         "SELECT 1",
		"a = ? AND b = ?":                                  "a = $1 AND b = $2",
		"x IN (" + Placeholders(3) + ")":                   "x IN ($1,$2,$3)",
		"note = '?' AND y = ?":                             "note = '?' AND y = $1",
		`"odd?col" = ? AND z LIKE 'it''s ?' AND w = ?`:     `"odd?col" = $1 AND z LIKE 'it''s ?' AND w = $2`,
		"? ? ? ? ? ? ? ? ? ?, ?":                           "$1 $2 $3 $4 $5 $6 $7 $8 $9 $10, $11",
		"SELECT count(CASE WHEN r = 'sent' THEN 1 END), ?": "SELECT count(CASE WHEN r = 'sent' THEN 1 END), $1",
	} {
		if got := Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
	if Placeholders(0) != "" || Placeholders(1) != "?" {
		t.Errorf("Placeholders(0), (1) = %q, %q", Placeholders(0), Placeholders(1))
	}
}

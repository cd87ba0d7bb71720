package bench

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ), 100 on
// every Linux architecture Herald runs on.
const userHZ = 100

// serverCPU returns a function that reports the CPU time (user and system)
// used so far by the PostgreSQL backends serving db's database, when the
// server runs on this machine and /proc shows its processes; otherwise
// nil. A backend that exits takes its time with it, so the figure is
// meant for differences over a run whose connections stay open (the
// store's pool keeps idle connections for minutes).
func serverCPU(ctx context.Context, db *sql.DB) func() time.Duration {
	read := func() (time.Duration, bool) {
		rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			return 0, false
		}
		defer rows.Close()
		var total time.Duration
		seen := false
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) != nil {
				return 0, false
			}
			if t, ok := procCPU(pid); ok {
				total += t
				seen = true
			}
		}
		return total, seen && rows.Err() == nil
	}
	if _, ok := read(); !ok {
		return nil
	}
	return func() time.Duration {
		t, _ := read()
		return t
	}
}

// procCPU reads the user and system time of process pid from /proc.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from the last ')'. utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / userHZ, true
}

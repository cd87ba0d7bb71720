package postgres

import "github.com/heraldpush/herald/internal/store/sqlstore"

// dialect is what the queries shared with the other SQL store (package
// sqlstore: apps, channel credentials, callbacks, segments, timelines)
// need to know of this one.
func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Name: "postgres", Numbered: true, Greatest: "greatest", InsertOrder: "seq", Classify: classify}
}

// scanner is the part of *sql.Row and *sql.Rows the scan helpers need.
type scanner = sqlstore.Scanner

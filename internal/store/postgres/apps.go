package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

const appColumns = `id, name, created_at, api_key_hash, engagelab_app_key,
	engagelab_secret_hash, najva_token_hash, najva_api_key, webtoapp_key_hash,
	vapid_public_key, vapid_private_enc, vapid_subject`

// CreateApp inserts a. A zero CreatedAt is set to the store's clock. Empty
// credentials are stored as NULL, so apps without a kind of credential do
// not clash with each other.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	if a.ID == "" {
		return errors.New("postgres: create app: empty id")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO apps (`+appColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		a.ID, a.Name, toMS(a.CreatedAt),
		nullBytes(a.APIKeyHash), nullText(a.EngageLabAppKey),
		nullBytes(a.EngageLabSecretHash), nullBytes(a.NajvaTokenHash),
		nullText(a.NajvaAPIKey), nullBytes(a.WebtoappKeyHash),
		nullBytes(a.VAPIDPublicKey), nullBytes(a.VAPIDPrivateEnc), a.VAPIDSubject)
	if err != nil {
		return fmt.Errorf("postgres: create app %s: %w", a.ID, classify(err))
	}
	return nil
}

// App returns the app with id, or store.ErrNotFound.
func (s *Store) App(ctx context.Context, id string) (store.App, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE id = $1`, id))
	if err != nil {
		return store.App{}, fmt.Errorf("postgres: app %s: %w", id, classify(err))
	}
	return a, nil
}

// credentialColumn names the column holding kind, and whether its values
// are text (plain identifiers) rather than bytea (hashes).
func credentialColumn(kind store.CredentialKind) (col string, text bool, ok bool) {
	switch kind {
	case store.CredAPIKey:
		return "api_key_hash", false, true
	case store.CredEngageLabAppKey:
		return "engagelab_app_key", true, true
	case store.CredNajvaToken:
		return "najva_token_hash", false, true
	case store.CredNajvaAPIKey:
		return "najva_api_key", true, true
	case store.CredWebtoappKey:
		return "webtoapp_key_hash", false, true
	}
	return "", false, false
}

// AppByCredential returns the app owning a credential; see store.Apps.
func (s *Store) AppByCredential(ctx context.Context, kind store.CredentialKind, value []byte) (store.App, error) {
	if kind == store.CredEngageLabSecret {
		return store.App{}, fmt.Errorf("postgres: app by %s: not a lookup key (look up by %s and compare the secret)", kind, store.CredEngageLabAppKey)
	}
	col, text, ok := credentialColumn(kind)
	if !ok {
		return store.App{}, fmt.Errorf("postgres: app by credential: unknown kind %q", kind)
	}
	if len(value) == 0 {
		return store.App{}, fmt.Errorf("postgres: app by %s: empty value: %w", kind, store.ErrNotFound)
	}
	var arg any = value
	if text {
		arg = string(value)
	}
	// col comes from the fixed table above, never from the caller.
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+appColumns+` FROM apps WHERE `+col+` = $1 ORDER BY created_at, seq LIMIT 2`, arg)
	if err != nil {
		return store.App{}, fmt.Errorf("postgres: app by %s: %w", kind, err)
	}
	found, err := scanApps(rows)
	if err != nil {
		return store.App{}, fmt.Errorf("postgres: app by %s: %w", kind, err)
	}
	switch len(found) {
	case 0:
		return store.App{}, fmt.Errorf("postgres: app by %s: %w", kind, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return store.App{}, fmt.Errorf("postgres: app by %s: several apps share it: %w", kind, store.ErrConflict)
}

// ListApps returns every app, oldest first.
func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list apps: %w", err)
	}
	apps, err := scanApps(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list apps: %w", err)
	}
	return apps, nil
}

// scanApps reads and closes rows.
func scanApps(rows *sql.Rows) ([]store.App, error) {
	defer rows.Close()
	apps := []store.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

// UpdateApp replaces every field of the app but its id and CreatedAt.
func (s *Store) UpdateApp(ctx context.Context, a store.App) error {
	res, err := s.db.ExecContext(ctx, `UPDATE apps SET
		name = $1, api_key_hash = $2, engagelab_app_key = $3,
		engagelab_secret_hash = $4, najva_token_hash = $5, najva_api_key = $6,
		webtoapp_key_hash = $7, vapid_public_key = $8, vapid_private_enc = $9,
		vapid_subject = $10
		WHERE id = $11`,
		a.Name, nullBytes(a.APIKeyHash), nullText(a.EngageLabAppKey),
		nullBytes(a.EngageLabSecretHash), nullBytes(a.NajvaTokenHash),
		nullText(a.NajvaAPIKey), nullBytes(a.WebtoappKeyHash),
		nullBytes(a.VAPIDPublicKey), nullBytes(a.VAPIDPrivateEnc), a.VAPIDSubject,
		a.ID)
	if err != nil {
		return fmt.Errorf("postgres: update app %s: %w", a.ID, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("postgres: update app %s: %w", a.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: update app %s: %w", a.ID, store.ErrNotFound)
	}
	return nil
}

func scanApp(r scanner) (store.App, error) {
	var (
		a                   store.App
		created             int64
		engageKey, najvaKey sql.NullString
	)
	err := r.Scan(&a.ID, &a.Name, &created, &a.APIKeyHash, &engageKey,
		&a.EngageLabSecretHash, &a.NajvaTokenHash, &najvaKey, &a.WebtoappKeyHash,
		&a.VAPIDPublicKey, &a.VAPIDPrivateEnc, &a.VAPIDSubject)
	if err != nil {
		return store.App{}, err
	}
	a.CreatedAt = fromMS(created)
	a.EngageLabAppKey = engageKey.String
	a.NajvaAPIKey = najvaKey.String
	return a, nil
}

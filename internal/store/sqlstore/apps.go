package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

const appColumns = `id, name, created_at, api_key_hash, engagelab_app_key,
	engagelab_secret_hash, najva_token_hash, najva_api_key, webtoapp_key_hash,
	vapid_public_key, vapid_private_enc, vapid_subject`

// CreateApp inserts a. A zero CreatedAt is set to the store's clock. Empty
// credentials are stored as NULL, so apps without a kind of credential do
// not clash with each other.
func (q *Queries) CreateApp(ctx context.Context, a store.App) error {
	if a.ID == "" {
		return fmt.Errorf("%s: create app: empty id", q.d.Name)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = q.now()
	}
	_, err := q.db.ExecContext(ctx, q.q(`INSERT INTO apps (`+appColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.Name, ToMS(a.CreatedAt),
		NullBytes(a.APIKeyHash), NullText(a.EngageLabAppKey),
		NullBytes(a.EngageLabSecretHash), NullBytes(a.NajvaTokenHash),
		NullText(a.NajvaAPIKey), NullBytes(a.WebtoappKeyHash),
		NullBytes(a.VAPIDPublicKey), NullBytes(a.VAPIDPrivateEnc), a.VAPIDSubject)
	if err != nil {
		return fmt.Errorf("%s: create app %s: %w", q.d.Name, a.ID, q.d.Classify(err))
	}
	return nil
}

// App returns the app with id, or store.ErrNotFound.
func (q *Queries) App(ctx context.Context, id string) (store.App, error) {
	a, err := scanApp(q.db.QueryRowContext(ctx, q.q(`SELECT `+appColumns+` FROM apps WHERE id = ?`), id))
	if err != nil {
		return store.App{}, fmt.Errorf("%s: app %s: %w", q.d.Name, id, q.d.Classify(err))
	}
	return a, nil
}

// credentialColumn names the column holding kind, and whether values of
// that kind are text (plain identifiers) rather than bytes (hashes).
// SQLite never finds a BLOB equal to a TEXT, so the lookup value must be
// bound with the column's type.
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

// AppByCredential returns the app owning a credential. An empty value
// matches nothing. The EngageLab master secret is refused: it is not unique
// on its own, so callers look up by the app key and compare the secret.
// Every other kind is UNIQUE; finding two apps anyway is store.ErrConflict
// rather than a pick of either.
func (q *Queries) AppByCredential(ctx context.Context, kind store.CredentialKind, value []byte) (store.App, error) {
	if kind == store.CredEngageLabSecret {
		return store.App{}, fmt.Errorf("%s: app by %s: not a lookup key (look up by %s and compare the secret)", q.d.Name, kind, store.CredEngageLabAppKey)
	}
	col, text, ok := credentialColumn(kind)
	if !ok {
		return store.App{}, fmt.Errorf("%s: app by credential: unknown kind %q", q.d.Name, kind)
	}
	if len(value) == 0 {
		return store.App{}, fmt.Errorf("%s: app by %s: empty value: %w", q.d.Name, kind, store.ErrNotFound)
	}
	var arg any = value
	if text {
		arg = string(value)
	}
	// col comes from the fixed table above, never from the caller.
	found, err := collect(rowsOf(q.db.QueryContext(ctx,
		q.q(`SELECT `+appColumns+` FROM apps WHERE `+col+` = ? ORDER BY created_at, `+q.d.InsertOrder+` LIMIT 2`), arg)), scanApp)
	if err != nil {
		return store.App{}, fmt.Errorf("%s: app by %s: %w", q.d.Name, kind, err)
	}
	switch len(found) {
	case 0:
		return store.App{}, fmt.Errorf("%s: app by %s: %w", q.d.Name, kind, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return store.App{}, fmt.Errorf("%s: app by %s: several apps share it: %w", q.d.Name, kind, store.ErrConflict)
}

// ListApps returns every app, oldest first.
func (q *Queries) ListApps(ctx context.Context) ([]store.App, error) {
	apps, err := collect(rowsOf(q.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY created_at, `+q.d.InsertOrder)), scanApp)
	if err != nil {
		return nil, fmt.Errorf("%s: list apps: %w", q.d.Name, err)
	}
	return apps, nil
}

// UpdateApp replaces every field of the app but its id and CreatedAt.
func (q *Queries) UpdateApp(ctx context.Context, a store.App) error {
	res, err := q.db.ExecContext(ctx, q.q(`UPDATE apps SET
		name = ?, api_key_hash = ?, engagelab_app_key = ?,
		engagelab_secret_hash = ?, najva_token_hash = ?, najva_api_key = ?,
		webtoapp_key_hash = ?, vapid_public_key = ?, vapid_private_enc = ?,
		vapid_subject = ?
		WHERE id = ?`),
		a.Name, NullBytes(a.APIKeyHash), NullText(a.EngageLabAppKey),
		NullBytes(a.EngageLabSecretHash), NullBytes(a.NajvaTokenHash),
		NullText(a.NajvaAPIKey), NullBytes(a.WebtoappKeyHash),
		NullBytes(a.VAPIDPublicKey), NullBytes(a.VAPIDPrivateEnc), a.VAPIDSubject,
		a.ID)
	if err != nil {
		return fmt.Errorf("%s: update app %s: %w", q.d.Name, a.ID, q.d.Classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: update app %s: %w", q.d.Name, a.ID, err)
	} else if n == 0 {
		return fmt.Errorf("%s: update app %s: %w", q.d.Name, a.ID, store.ErrNotFound)
	}
	return nil
}

func scanApp(r Scanner) (store.App, error) {
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
	a.CreatedAt = FromMS(created)
	a.EngageLabAppKey = engageKey.String
	a.NajvaAPIKey = najvaKey.String
	return a, nil
}

// SetChannelCredentials stores or replaces an app's credentials for ch.
func (q *Queries) SetChannelCredentials(ctx context.Context, appID string, ch store.Channel, c store.SealedCredentials) error {
	meta := string(c.Meta)
	if meta == "" {
		meta = "{}"
	}
	at := c.UpdatedAt
	if at.IsZero() {
		at = q.now()
	}
	_, err := q.db.ExecContext(ctx, q.q(`INSERT INTO app_channel_credentials (app_id, channel, sealed, meta, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (app_id, channel) DO UPDATE SET sealed = excluded.sealed, meta = excluded.meta, updated_at = excluded.updated_at`),
		appID, string(ch), c.Sealed, meta, ToMS(at))
	if err != nil {
		return fmt.Errorf("%s: set %s credentials of %s: %w", q.d.Name, ch, appID, q.d.Classify(err))
	}
	return nil
}

// ChannelCredentials returns an app's credentials for ch.
func (q *Queries) ChannelCredentials(ctx context.Context, appID string, ch store.Channel) (store.SealedCredentials, error) {
	var c store.SealedCredentials
	var meta string
	var at int64
	err := q.db.QueryRowContext(ctx, q.q(`SELECT sealed, meta, updated_at FROM app_channel_credentials WHERE app_id = ? AND channel = ?`),
		appID, string(ch)).Scan(&c.Sealed, &meta, &at)
	if err != nil {
		return store.SealedCredentials{}, fmt.Errorf("%s: %s credentials of %s: %w", q.d.Name, ch, appID, q.d.Classify(err))
	}
	c.Meta, c.UpdatedAt = []byte(meta), FromMS(at)
	return c, nil
}

// DeleteChannelCredentials removes an app's credentials for ch.
func (q *Queries) DeleteChannelCredentials(ctx context.Context, appID string, ch store.Channel) error {
	res, err := q.db.ExecContext(ctx, q.q(`DELETE FROM app_channel_credentials WHERE app_id = ? AND channel = ?`), appID, string(ch))
	if err != nil {
		return fmt.Errorf("%s: delete %s credentials of %s: %w", q.d.Name, ch, appID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: delete %s credentials of %s: %w", q.d.Name, ch, appID, store.ErrNotFound)
	}
	return nil
}

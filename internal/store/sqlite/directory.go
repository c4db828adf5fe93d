package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// The directory's writes run on the writer connection: they wait for the
// pipeline's current transaction and never run alongside it.

// CreatePartner implements store.Directory.
func (s *Store) CreatePartner(ctx context.Context, p store.PartnerRecord, k store.KeyRecord) error {
	return s.inTx(ctx, "create partner", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO partners (id, name, scopes, from_config, created_at_ns)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.ID, p.Name, strings.Join(p.Scopes, " "), boolInt(p.FromConfig), store.UnixNanos(p.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return store.ErrConflict
		}
		return insertKey(ctx, tx, k)
	})
}

// PutPartner implements store.Directory.
func (s *Store) PutPartner(ctx context.Context, p store.PartnerRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO partners (id, name, scopes, from_config, created_at_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, from_config = excluded.from_config`,
		p.ID, p.Name, strings.Join(p.Scopes, " "), boolInt(p.FromConfig), store.UnixNanos(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put partner %s: %w", p.ID, err)
	}
	return nil
}

const partnerCols = `id, name, scopes, from_config, created_at_ns`

func scanPartner(sc interface{ Scan(...any) error }) (store.PartnerRecord, error) {
	var p store.PartnerRecord
	var scopes string
	var created int64
	err := sc.Scan(&p.ID, &p.Name, &scopes, &p.FromConfig, &created)
	p.Scopes, p.CreatedAt = strings.Fields(scopes), store.FromUnixNanos(created)
	return p, err
}

// Partner implements store.Directory.
func (s *Store) Partner(ctx context.Context, id string) (store.PartnerRecord, error) {
	p, err := scanPartner(s.r.QueryRowContext(ctx, `SELECT `+partnerCols+` FROM partners WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: partner %s: %w", id, err)
	}
	return p, nil
}

// Partners implements store.Directory.
func (s *Store) Partners(ctx context.Context) ([]store.PartnerRecord, error) {
	return queryAll(ctx, s.r, "partners", scanPartner, `SELECT `+partnerCols+` FROM partners ORDER BY id`)
}

// AddKey implements store.Directory.
func (s *Store) AddKey(ctx context.Context, k store.KeyRecord) error {
	return s.inTx(ctx, "add key", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM partners WHERE id = ?`, k.PartnerID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return insertKey(ctx, tx, k)
	})
}

func insertKey(ctx context.Context, tx *sql.Tx, k store.KeyRecord) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (digest, prefix, partner_id, created_at_ns, revoked_at_ns)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.Digest[:], k.Prefix, k.PartnerID, store.UnixNanos(k.CreatedAt), store.UnixNanos(k.RevokedAt))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return store.ErrConflict
	}
	return nil
}

const keyCols = `digest, prefix, partner_id, created_at_ns, revoked_at_ns`

func scanKey(sc interface{ Scan(...any) error }) (store.KeyRecord, error) {
	var k store.KeyRecord
	var digest []byte
	var created, revoked int64
	err := sc.Scan(&digest, &k.Prefix, &k.PartnerID, &created, &revoked)
	copy(k.Digest[:], digest)
	k.CreatedAt, k.RevokedAt = store.FromUnixNanos(created), store.FromUnixNanos(revoked)
	return k, err
}

// Keys implements store.Directory.
func (s *Store) Keys(ctx context.Context, partnerID string) ([]store.KeyRecord, error) {
	return queryAll(ctx, s.r, "keys of "+partnerID, scanKey, `SELECT `+keyCols+` FROM api_keys WHERE partner_id = ? ORDER BY created_at_ns, prefix`, partnerID)
}

// KeyByDigest implements store.Directory.
func (s *Store) KeyByDigest(ctx context.Context, digest [sha256.Size]byte) (store.KeyRecord, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE digest = ?`, digest[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return k, store.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("sqlite: key: %w", err)
	}
	return k, nil
}

// RevokeKey implements store.Directory.
func (s *Store) RevokeKey(ctx context.Context, partnerID, prefix string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at_ns = ? WHERE partner_id = ? AND prefix = ? AND revoked_at_ns = 0`,
		store.UnixNanos(at), partnerID, prefix)
	if err != nil {
		return fmt.Errorf("sqlite: revoke key %s: %w", prefix, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ShareShipment implements store.Directory.
func (s *Store) ShareShipment(ctx context.Context, sh store.ShipmentShare) error {
	if _, err := s.w.ExecContext(ctx, shareSQL, sh.PartnerID, sh.ShipmentID, store.UnixNanos(sh.At)); err != nil {
		return fmt.Errorf("sqlite: share shipment %s: %w", sh.ShipmentID, err)
	}
	return nil
}

const shareSQL = `INSERT INTO shipment_partners (partner_id, shipment_id, shared_at_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`

// ShareShipments implements store.Tx.
func (t *tx) ShareShipments(ctx context.Context, shares []store.ShipmentShare) error {
	for _, sh := range shares {
		if _, err := t.tx.ExecContext(ctx, shareSQL, sh.PartnerID, sh.ShipmentID, store.UnixNanos(sh.At)); err != nil {
			return fmt.Errorf("sqlite: share shipment %s: %w", sh.ShipmentID, err)
		}
	}
	return nil
}

// ShipmentShared implements store.Directory.
func (s *Store) ShipmentShared(ctx context.Context, shipmentID, partnerID string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM shipment_partners WHERE partner_id = ? AND shipment_id = ?`, partnerID, shipmentID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: shipment shared: %w", err)
	}
	return true, nil
}

// PutMaster implements store.Directory.
func (s *Store) PutMaster(ctx context.Context, r store.MasterRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO master_data (kind, id, source, data, updated_at_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET source = excluded.source, data = excluded.data, updated_at_ns = excluded.updated_at_ns`,
		r.Kind, r.ID, r.Source, string(r.Data), store.UnixNanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// Master implements store.Directory.
func (s *Store) Master(ctx context.Context, kind, id string) (store.MasterRecord, error) {
	r := store.MasterRecord{Kind: kind, ID: id}
	var data string
	var upd int64
	err := s.r.QueryRowContext(ctx, `SELECT source, data, updated_at_ns FROM master_data WHERE kind = ? AND id = ?`, kind, id).
		Scan(&r.Source, &data, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: %s %s: %w", kind, id, err)
	}
	r.Data, r.UpdatedAt = []byte(data), store.FromUnixNanos(upd)
	return r, nil
}

// inTx runs fn in a write transaction on the writer connection. fn's
// store.ErrConflict and store.ErrNotFound reach the caller unwrapped by
// context so errors.Is finds them.
func (s *Store) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer func() { _ = t.Rollback() }()
	if err := fn(t); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

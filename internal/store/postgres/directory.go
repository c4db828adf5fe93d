package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

// CreatePartner implements store.Directory.
func (s *Store) CreatePartner(ctx context.Context, p store.PartnerRecord, k store.KeyRecord) error {
	return s.inTx(ctx, "create partner", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO partners (id, name, scopes, from_config, created_at_ns)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			p.ID, p.Name, strings.Join(p.Scopes, " "), p.FromConfig, store.UnixNanos(p.CreatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrConflict
		}
		return insertKey(ctx, tx, k)
	})
}

// PutPartner implements store.Directory.
func (s *Store) PutPartner(ctx context.Context, p store.PartnerRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO partners (id, name, scopes, from_config, created_at_ns) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, from_config = excluded.from_config`,
		p.ID, p.Name, strings.Join(p.Scopes, " "), p.FromConfig, store.UnixNanos(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("postgres: put partner %s: %w", p.ID, err)
	}
	return nil
}

const partnerCols = `id, name, scopes, from_config, created_at_ns`

func scanPartner(sc pgx.Row) (store.PartnerRecord, error) {
	var p store.PartnerRecord
	var scopes string
	var created int64
	err := sc.Scan(&p.ID, &p.Name, &scopes, &p.FromConfig, &created)
	p.Scopes, p.CreatedAt = strings.Fields(scopes), store.FromUnixNanos(created)
	return p, err
}

// Partner implements store.Directory.
func (s *Store) Partner(ctx context.Context, id string) (store.PartnerRecord, error) {
	p, err := scanPartner(s.pool.QueryRow(ctx, `SELECT `+partnerCols+` FROM partners WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("postgres: partner %s: %w", id, err)
	}
	return p, nil
}

// Partners implements store.Directory.
func (s *Store) Partners(ctx context.Context) ([]store.PartnerRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+partnerCols+` FROM partners ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: partners: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PartnerRecord, error) { return scanPartner(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: partners: %w", err)
	}
	return out, nil
}

// AddKey implements store.Directory.
func (s *Store) AddKey(ctx context.Context, k store.KeyRecord) error {
	return s.inTx(ctx, "add key", func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM partners WHERE id = $1`, k.PartnerID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return insertKey(ctx, tx, k)
	})
}

func insertKey(ctx context.Context, tx pgx.Tx, k store.KeyRecord) error {
	tag, err := tx.Exec(ctx, `INSERT INTO api_keys (digest, prefix, partner_id, created_at_ns, revoked_at_ns)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		k.Digest[:], k.Prefix, k.PartnerID, store.UnixNanos(k.CreatedAt), store.UnixNanos(k.RevokedAt))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

const keyCols = `digest, prefix, partner_id, created_at_ns, revoked_at_ns`

func scanKey(sc pgx.Row) (store.KeyRecord, error) {
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
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE partner_id = $1 ORDER BY created_at_ns, prefix`, partnerID)
	if err != nil {
		return nil, fmt.Errorf("postgres: keys of %s: %w", partnerID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.KeyRecord, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: keys of %s: %w", partnerID, err)
	}
	return out, nil
}

// KeyByDigest implements store.Directory.
func (s *Store) KeyByDigest(ctx context.Context, digest [sha256.Size]byte) (store.KeyRecord, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE digest = $1`, digest[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, store.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("postgres: key: %w", err)
	}
	return k, nil
}

// RevokeKey implements store.Directory.
func (s *Store) RevokeKey(ctx context.Context, partnerID, prefix string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at_ns = $1 WHERE partner_id = $2 AND prefix = $3 AND revoked_at_ns = 0`,
		store.UnixNanos(at), partnerID, prefix)
	if err != nil {
		return fmt.Errorf("postgres: revoke key %s: %w", prefix, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

const shareSQL = `INSERT INTO shipment_partners (partner_id, shipment_id, shared_at_ns)
	SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`

func shareArgs(shares []store.ShipmentShare) (partners, shipments []string, at []int64) {
	for _, sh := range shares {
		partners, shipments, at = append(partners, sh.PartnerID), append(shipments, sh.ShipmentID), append(at, store.UnixNanos(sh.At))
	}
	return partners, shipments, at
}

// ShareShipment implements store.Directory.
func (s *Store) ShareShipment(ctx context.Context, sh store.ShipmentShare) error {
	p, sid, at := shareArgs([]store.ShipmentShare{sh})
	if _, err := s.pool.Exec(ctx, shareSQL, p, sid, at); err != nil {
		return fmt.Errorf("postgres: share shipment %s: %w", sh.ShipmentID, err)
	}
	return nil
}

// ShareShipments implements store.Tx.
func (t *tx) ShareShipments(ctx context.Context, shares []store.ShipmentShare) error {
	if len(shares) == 0 {
		return nil
	}
	p, sid, at := shareArgs(shares)
	if _, err := t.tx.Exec(ctx, shareSQL, p, sid, at); err != nil {
		return fmt.Errorf("postgres: share shipments: %w", err)
	}
	return nil
}

// ShipmentShared implements store.Directory.
func (s *Store) ShipmentShared(ctx context.Context, shipmentID, partnerID string) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM shipment_partners WHERE partner_id = $1 AND shipment_id = $2`, partnerID, shipmentID).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: shipment shared: %w", err)
	}
	return true, nil
}

// PutMaster implements store.Directory.
func (s *Store) PutMaster(ctx context.Context, r store.MasterRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO master_data (kind, id, source, data, updated_at_ns) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, id) DO UPDATE SET source = excluded.source, data = excluded.data, updated_at_ns = excluded.updated_at_ns`,
		r.Kind, r.ID, r.Source, string(r.Data), store.UnixNanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("postgres: put %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// Master implements store.Directory.
func (s *Store) Master(ctx context.Context, kind, id string) (store.MasterRecord, error) {
	r := store.MasterRecord{Kind: kind, ID: id}
	var data string
	var upd int64
	err := s.pool.QueryRow(ctx, `SELECT source, data, updated_at_ns FROM master_data WHERE kind = $1 AND id = $2`, kind, id).
		Scan(&r.Source, &data, &upd)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: %s %s: %w", kind, id, err)
	}
	r.Data, r.UpdatedAt = []byte(data), store.FromUnixNanos(upd)
	return r, nil
}

// inTx runs fn in a transaction; fn's sentinel errors stay findable with
// errors.Is.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	defer func() { _ = t.Rollback(ctx) }()
	if err := fn(t); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if err := t.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

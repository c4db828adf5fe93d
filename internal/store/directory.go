package store

import (
	"context"
	"crypto/sha256"
	"time"
)

// PartnerRecord is an organisation that sends and reads data with keys of
// its own: a carrier, a TMS, a customer portal.
type PartnerRecord struct {
	ID         string
	Name       string
	Scopes     []string // what its keys may do
	FromConfig bool     // declared in the config file (kept in step with it at start)
	CreatedAt  time.Time
}

// KeyRecord is an issued API key, kept only as its SHA-256.
type KeyRecord struct {
	Prefix    string // the key's first characters, unique; how it is listed and revoked
	PartnerID string
	Digest    [sha256.Size]byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// ShipmentShare lets a partner read a shipment.
type ShipmentShare struct {
	ShipmentID string
	PartnerID  string
	At         time.Time
}

// Master data kinds.
const (
	KindCustomer = "customer"
	KindLocation = "location"
)

// MasterRecord is one master-data entity (a customer, a location) as its
// system of record last wrote it. Data is the entity's JSON, owned by the
// API layer.
type MasterRecord struct {
	Kind      string // KindCustomer or KindLocation
	ID        string
	Source    string // who wrote it (partner/{id} or the key name)
	Data      []byte
	UpdatedAt time.Time
}

// Directory is the administrative part of the store.
type Directory interface {
	// CreatePartner inserts a partner with its first key in one
	// transaction; ErrConflict when the id is taken.
	CreatePartner(ctx context.Context, p PartnerRecord, k KeyRecord) error
	// PutPartner inserts or updates a partner (name, scopes, FromConfig),
	// keeping its keys.
	PutPartner(ctx context.Context, p PartnerRecord) error
	Partner(ctx context.Context, id string) (PartnerRecord, error) // ErrNotFound
	Partners(ctx context.Context) ([]PartnerRecord, error)         // ordered by id

	// AddKey stores a new key; ErrNotFound when the partner is unknown,
	// ErrConflict when the prefix or digest is taken.
	AddKey(ctx context.Context, k KeyRecord) error
	// Keys lists a partner's keys, revoked ones too, oldest first.
	Keys(ctx context.Context, partnerID string) ([]KeyRecord, error)
	// KeyByDigest finds a key, active or revoked; ErrNotFound when none.
	KeyByDigest(ctx context.Context, digest [sha256.Size]byte) (KeyRecord, error)
	// RevokeKey marks a partner's active key revoked at at; ErrNotFound
	// when the partner has no active key with that prefix.
	RevokeKey(ctx context.Context, partnerID, prefix string, at time.Time) error

	// ShareShipment lets a partner read a shipment; sharing twice is no
	// error.
	ShareShipment(ctx context.Context, s ShipmentShare) error
	// ShipmentShared reports whether the partner may read the shipment.
	ShipmentShared(ctx context.Context, shipmentID, partnerID string) (bool, error)

	// PutMaster inserts or replaces a master-data record.
	PutMaster(ctx context.Context, r MasterRecord) error
	// Master reads one; ErrNotFound when absent.
	Master(ctx context.Context, kind, id string) (MasterRecord, error)
}

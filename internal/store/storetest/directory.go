package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func key(partner, prefix string, at time.Duration) store.KeyRecord {
	return store.KeyRecord{Prefix: prefix, PartnerID: partner, Digest: sha256.Sum256([]byte(prefix + "-secret")), CreatedAt: t0.Add(at)}
}

func testPartners(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	acme := store.PartnerRecord{ID: "acme-tms", Name: "ACME TMS", Scopes: []string{"events:write", "read"}, CreatedAt: t0}
	if err := st.CreatePartner(ctx, acme, key("acme-tms", "cdk_aaaa", 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePartner(ctx, acme, key("acme-tms", "cdk_bbbb", 0)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: got %v, want ErrConflict", err)
	}
	if ks, err := st.Keys(ctx, "acme-tms"); err != nil || len(ks) != 1 {
		t.Fatalf("a refused create must not add its key: %v %v", ks, err)
	}
	got, err := st.Partner(ctx, "acme-tms")
	if err != nil || !reflect.DeepEqual(got, acme) {
		t.Fatalf("partner: got %+v %v, want %+v", got, err, acme)
	}
	if _, err := st.Partner(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	cfg := store.PartnerRecord{ID: "beta", Name: "Beta", Scopes: []string{"read"}, FromConfig: true, CreatedAt: t0}
	if err := st.PutPartner(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.Scopes = "Beta Freight", []string{"events:write"}
	changed := cfg
	changed.CreatedAt = t0.Add(time.Hour) // an update keeps the creation time
	if err := st.PutPartner(ctx, changed); err != nil {
		t.Fatal(err)
	}
	all, err := st.Partners(ctx)
	if err != nil || !reflect.DeepEqual(all, []store.PartnerRecord{acme, cfg}) {
		t.Fatalf("partners: got %+v %v", all, err)
	}
}

func testKeys(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	p := store.PartnerRecord{ID: "acme-tms", Name: "ACME", Scopes: []string{"read"}, CreatedAt: t0}
	first := key("acme-tms", "cdk_aaaa", 0)
	if err := st.CreatePartner(ctx, p, first); err != nil {
		t.Fatal(err)
	}
	second := key("acme-tms", "cdk_bbbb", time.Minute)
	if err := st.AddKey(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := st.AddKey(ctx, key("nobody", "cdk_cccc", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key for unknown partner: %v", err)
	}
	dup := key("acme-tms", "cdk_aaaa", 2*time.Minute)
	if err := st.AddKey(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken prefix: %v", err)
	}
	got, err := st.KeyByDigest(ctx, second.Digest)
	if err != nil || !reflect.DeepEqual(got, second) {
		t.Fatalf("by digest: %+v %v", got, err)
	}
	if _, err := st.KeyByDigest(ctx, sha256.Sum256([]byte("unknown"))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown digest: %v", err)
	}
	if err := st.RevokeKey(ctx, "other", "cdk_aaaa", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking another partner's key must fail: %v", err)
	}
	if err := st.RevokeKey(ctx, "acme-tms", "cdk_aaaa", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeKey(ctx, "acme-tms", "cdk_aaaa", t0.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	first.RevokedAt = t0.Add(time.Hour)
	ks, err := st.Keys(ctx, "acme-tms")
	if err != nil || !reflect.DeepEqual(ks, []store.KeyRecord{first, second}) {
		t.Fatalf("keys: %+v %v", ks, err)
	}
}

func testShares(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutShipments(ctx, []store.ShipmentRecord{
			{ID: "SHP-1", Visible: true, Status: "released", State: []byte(`{}`), UpdatedAt: t0},
			{ID: "SHP-2", Visible: true, Status: "released", State: []byte(`{}`), UpdatedAt: t0.Add(time.Second)},
		}); err != nil {
			return err
		}
		shares := []store.ShipmentShare{{ShipmentID: "SHP-1", PartnerID: "acme", At: t0}, {ShipmentID: "SHP-1", PartnerID: "acme", At: t0}}
		return tx.ShareShipments(ctx, shares)
	})
	if err := st.ShareShipment(ctx, store.ShipmentShare{ShipmentID: "SHP-2", PartnerID: "beta", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.ShareShipment(ctx, store.ShipmentShare{ShipmentID: "SHP-2", PartnerID: "beta", At: t0}); err != nil {
		t.Fatalf("sharing twice: %v", err)
	}
	for _, c := range []struct {
		ship, partner string
		want          bool
	}{{"SHP-1", "acme", true}, {"SHP-2", "acme", false}, {"SHP-2", "beta", true}, {"SHP-1", "beta", false}, {"SHP-3", "acme", false}} {
		if got, err := st.ShipmentShared(ctx, c.ship, c.partner); err != nil || got != c.want {
			t.Errorf("shared(%s, %s) = %v %v, want %v", c.ship, c.partner, got, err, c.want)
		}
	}
	for partner, want := range map[string][]string{"acme": {"SHP-1"}, "beta": {"SHP-2"}, "gamma": nil} {
		recs, err := st.Shipments(ctx, store.ShipmentFilter{PartnerID: partner})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("shipments of %s: %v, want %v", partner, ids, want)
		}
	}
}

func testMasterData(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	loc := store.MasterRecord{Kind: store.KindLocation, ID: "DC-1", Source: "partner/erp", Data: []byte(`{"lat":52.5,"lon":13.4}`), UpdatedAt: t0}
	cust := store.MasterRecord{Kind: store.KindCustomer, ID: "DC-1", Source: "partner/erp", Data: []byte(`{"name":"Same id, other kind"}`), UpdatedAt: t0}
	for _, r := range []store.MasterRecord{loc, cust} {
		if err := st.PutMaster(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	loc.Data, loc.UpdatedAt, loc.Source = []byte(`{"lat":52.6,"lon":13.5}`), t0.Add(time.Hour), "partner/erp2"
	if err := st.PutMaster(ctx, loc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.MasterRecord{loc, cust} {
		got, err := st.Master(ctx, want.Kind, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("master %s: got %+v %v, want %+v", want.Kind, got, err, want)
		}
	}
	if _, err := st.Master(ctx, store.KindLocation, "DC-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
}

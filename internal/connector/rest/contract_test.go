package rest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/store"
)

// receiver is an ERP's REST endpoint that keeps what it receives by
// Idempotency-Key, as docs/connectors.md asks receivers to: a repeat
// answers the first answer. It refuses an invoice whose total is not a
// number.
type receiver struct {
	mu   sync.Mutex
	held map[string]int // key → documents stored under it
	refs map[string]string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ce struct {
		Data struct {
			ID    string `json:"id"`
			Total string `json:"total"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ce); err != nil {
		http.Error(w, `{"error":"body is not JSON"}`, http.StatusBadRequest)
		return
	}
	if _, err := strconv.ParseFloat(ce.Data.Total, 64); err != nil {
		http.Error(w, `{"error":"total: not a number"}`, http.StatusUnprocessableEntity)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ref, seen := rc.refs[key]
	if !seen {
		rc.held[key]++
		ref = fmt.Sprintf("ERP-%d", len(rc.refs)+1)
		rc.refs[key] = ref
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"erp_ref": ref})
}

func TestContract(t *testing.T) {
	rc := &receiver{held: map[string]int{}, refs: map[string]string{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/invoices"
	_ = l.Close()
	open := func(url string) func(t *testing.T) connector.Connector {
		return func(t *testing.T) connector.Connector {
			c, err := New(Config{Name: "erp", URL: url})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	connectortest.Run(t, connectortest.Destination{
		Connector: open(srv.URL + "/invoices"),
		Down:      open(closed),
		Held: func(t *testing.T, d connector.Delivery) int {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return rc.held[d.ID]
		},
		Event: connectortest.Invoice,
		Refused: func() store.EventRecord {
			e := connectortest.Invoice(900)
			e.Data = []byte(`{"id":"INV-BAD","total":"twelve"}`)
			return e
		},
		WantRef: true,
	})
}

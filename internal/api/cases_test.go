package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestCasesFromPODAndResolution(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	results(t, h.post("["+ev("o1", "order.released", "SHP-C", 0, orderData)+"]"))
	unsigned := ev("p1", "delivery.completed", "SHP-C", 90, `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58},"exceptions":[{"code":"damaged","note":"crushed pallet"}]}`)
	results(t, h.post("["+unsigned+"]"))

	var v struct {
		Status string
		OnHold bool `json:"on_hold"`
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-C").body, &v)
	if !v.OnHold || v.Status != "delivered" {
		t.Fatalf("shipment with blocking cases: %+v", v)
	}
	var list struct {
		Items []struct {
			ID, Code, Status, Detail string
			Blocking                 bool
			Region                   string
		}
	}
	_ = json.Unmarshal(h.get("/api/v1/cases?shipment_id=SHP-C&status=open").body, &list)
	if len(list.Items) != 2 {
		t.Fatalf("cases: %+v", list)
	}
	byCode := map[string]string{}
	for _, c := range list.Items {
		byCode[c.Code] = c.ID
		if !c.Blocking || c.Region != "N48E011" {
			t.Fatalf("case %+v", c)
		}
	}
	if byCode["missing_signature"] == "" || byCode["damaged"] == "" {
		t.Fatalf("codes: %v", byCode)
	}

	var tl struct{ Items []struct{ Kind, Type string } }
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-C/timeline").body, &tl)
	kinds := map[string]int{}
	for _, it := range tl.Items {
		kinds[it.Kind+" "+it.Type]++
	}
	if kinds["case case.opened"] != 2 || kinds["workflow workflow.billing_held"] != 1 {
		t.Fatalf("timeline: %v", kinds)
	}

	resolve := func(key, id string) response {
		return h.do(http.MethodPost, "/api/v1/cases/"+id+"/resolve", key, "application/json", []byte(`{"resolution":"signature on paper POD","note":"scan attached"}`))
	}
	if r := resolve(readKey, byCode["missing_signature"]); r.status != http.StatusForbidden {
		t.Fatalf("resolving with a read key: %d", r.status)
	}
	if r := resolve(adminKey, byCode["missing_signature"]); r.status != http.StatusOK || r.json(t)["status"] != "resolved" || r.json(t)["resolved_by"] != "admin" {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	if r := resolve(adminKey, byCode["missing_signature"]); r.status != http.StatusConflict {
		t.Fatalf("resolving twice: %d %s", r.status, r.body)
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-C").body, &v)
	if !v.OnHold {
		t.Fatal("still on hold: the damaged case is open")
	}
	if r := h.do(http.MethodPost, "/api/v1/cases/"+byCode["damaged"]+"/comments", adminKey, "application/json", []byte(`{"text":"photos requested"}`)); r.status != http.StatusCreated ||
		!strings.Contains(string(r.body), "photos requested") {
		t.Fatalf("comment: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPut, "/api/v1/cases/"+byCode["damaged"]+"/assignee", adminKey, "application/json", []byte(`{"assignee":"claims-team"}`)); r.status != http.StatusOK ||
		r.json(t)["assignee"] != "claims-team" {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	if r := resolve(adminKey, byCode["damaged"]); r.status != http.StatusOK {
		t.Fatalf("resolve damaged: %d %s", r.status, r.body)
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-C").body, &v)
	if v.OnHold {
		t.Fatal("no blocking case is open: billing released")
	}
	c := h.get("/api/v1/cases/" + byCode["damaged"]).json(t)
	if c["assignee"] != "claims-team" || !strings.Contains(mustJSON(t, c["comments"]), "photos requested") || c["closed_at"] == nil {
		t.Fatalf("resolved case keeps its annotations: %v", c)
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-C/timeline").body, &tl)
	kinds = map[string]int{}
	for _, it := range tl.Items {
		kinds[it.Kind+" "+it.Type]++
	}
	if kinds["case case.resolved"] != 2 || kinds["workflow workflow.billing_released"] != 1 {
		t.Fatalf("timeline after resolving: %v", kinds)
	}
	if r := h.do(http.MethodGet, "/api/v1/cases/nope", adminKey, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("absent case: %d", r.status)
	}
	if r := h.get("/api/v1/cases?older_than=soon"); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
		t.Fatalf("bad older_than: %d %s", r.status, r.body)
	}
}

func TestPartnerSeesCasesOfItsShipmentsOnly(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	acme, _ := h.createPartner("acme")
	beta, _ := h.createPartner("beta")
	results(t, h.postAs(acme, "["+ev("o1", "order.released", "SHP-A", 0, orderData)+","+
		ev("p1", "delivery.completed", "SHP-A", 90, `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58}}`)+"]"))
	var list struct{ Items []struct{ ID string } }
	_ = json.Unmarshal(h.do(http.MethodGet, "/api/v1/cases?shipment_id=SHP-A", acme, "", nil).body, &list)
	if len(list.Items) != 1 {
		t.Fatalf("acme's cases: %+v", list)
	}
	id := list.Items[0].ID
	for _, c := range []struct {
		key, path string
		want      int
	}{
		{acme, "/api/v1/cases/" + id, 200},
		{beta, "/api/v1/cases/" + id, 404},
		{beta, "/api/v1/cases?shipment_id=SHP-A", 404},
		{beta, "/api/v1/cases", 403},
	} {
		if r := h.do(http.MethodGet, c.path, c.key, "", nil); r.status != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, r.status, c.want)
		}
	}
}

package connector

import (
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	for _, c := range []struct{ tmpl, rest, err string }{
		{"crossdock.events.{type}", "crossdock.events.", ""},
		{"crossdock/{type}/{shipment}", "crossdock//", ""},
		{"fixed", "fixed", ""},
		{"", "", "empty"},
		{"crossdock.{customer}", "", "only {type} and {shipment}"},
		{"crossdock.{type", "", "only {type} and {shipment}"},
	} {
		rest, err := TemplateRest(c.tmpl)
		if c.err == "" && (err != nil || rest != c.rest) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %q %v", c.tmpl, rest, err)
		}
	}
	if got := ExpandTemplate("a/{type}/{shipment}/{type}", "invoice.ready", "SHP-1"); got != "a/invoice.ready/SHP-1/invoice.ready" {
		t.Errorf("expand: %q", got)
	}
}

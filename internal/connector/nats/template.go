package nats

import (
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// subjectTemplate is a subject with the placeholders {type} (the event
// type, its dots kept as token separators) and {shipment} (the shipment
// id, a single token).
type subjectTemplate string

// parseSubject checks that s expands to valid subjects: only the known
// placeholders, no wildcards, no empty tokens, not a system subject.
func parseSubject(s string) (subjectTemplate, error) {
	rest, err := connector.TemplateRest(s)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(rest, "*>") {
		return "", fmt.Errorf("%q: wildcards * and > are for subscribers, not a published subject", s)
	}
	if strings.HasPrefix(s, "$") {
		return "", fmt.Errorf("%q: subjects starting with $ are the server's", s)
	}
	t := subjectTemplate(s)
	if !validSubject(t.expand("a.b", "s")) {
		return "", fmt.Errorf("%q: not a subject (whitespace or an empty token)", s)
	}
	return t, nil
}

// expand fills the template in. Characters a subject cannot hold become
// '_' (and dots in a shipment id too, so it stays one token); an empty
// value becomes "_".
func (t subjectTemplate) expand(typ, shipment string) string {
	return connector.ExpandTemplate(string(t), tokens(typ), token(shipment))
}

// streamSubjects returns the subjects a stream needs to take every
// expansion: the literal tokens before the first placeholder, then ">".
// It reports false when the first token already holds one.
func (t subjectTemplate) streamSubjects() ([]string, bool) {
	parts := strings.Split(string(t), ".")
	for i, p := range parts {
		if strings.Contains(p, "{") {
			if i == 0 {
				return nil, false
			}
			return []string{strings.Join(parts[:i], ".") + ".>"}, true
		}
	}
	return []string{string(t)}, true
}

// token makes s one subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n', '\f', '\v':
			return '_'
		}
		return r
	}, s)
}

// tokens makes s a dot-separated run of tokens.
func tokens(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = token(p)
	}
	return strings.Join(parts, ".")
}

// validSubject reports whether s can be published to.
func validSubject(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n\f\v") {
		return false
	}
	for p := range strings.SplitSeq(s, ".") {
		if p == "" {
			return false
		}
	}
	return true
}

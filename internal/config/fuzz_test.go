package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: any file content gives a config or an *Error whose every
// problem has a message, never a panic.
func FuzzDecode(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, "testdata/full.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &x {b: 1}\nhttp: *x\n"))
	f.Add([]byte("http:\n  <<: {addr: ':1'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := Default()
		if e := decode(b, &cfg); e != nil {
			if len(e.Problems) == 0 {
				t.Fatal("an *Error without problems")
			}
			for _, p := range e.Problems {
				if strings.TrimSpace(p.Message) == "" {
					t.Fatalf("empty message for %q", p.Key)
				}
			}
			return
		}
		_ = cfg.Validate()
		_ = cfg.Redacted()
	})
}

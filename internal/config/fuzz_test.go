package config

import (
	"os"
	"testing"
)

// FuzzDecode: any file content gives a config or an error, never a panic.
func FuzzDecode(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte("http:\n  adress: x\n"))
	f.Add([]byte("auth:\n  keys:\n    - {name: a, sha256: x, scopes: [read]}\n"))
	f.Add([]byte("pipeline:\n  commit_delay: 5 parsecs\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := Default()
		if err := decode(b, &cfg); err == nil {
			_ = cfg.Validate()
		}
	})
}

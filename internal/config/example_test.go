package config_test

import (
	"errors"
	"fmt"

	"github.com/crossdockhq/crossdock/internal/config"
)

func noEnv(string) string { return "" }

// Load names every bad key with its line; main prints the error as it is.
func ExampleLoad() {
	_, err := config.Load("testdata/bad/out_of_range_numbers.yaml", noEnv)
	fmt.Println(err)

	_, err = config.Load("testdata/bad/unknown_key_in_list_item.yaml", noEnv)
	var e *config.Error
	if errors.As(err, &e) {
		for _, p := range e.Problems {
			fmt.Printf("%s | %s\n", p.Key, p.Message)
		}
	}
	// Output:
	// testdata/bad/out_of_range_numbers.yaml: http.max_body_bytes: must be between 1024 and 268435456, got 512
	// testdata/bad/out_of_range_numbers.yaml: http.max_batch_events: must be between 1 and 100000, got 0
	// testdata/bad/out_of_range_numbers.yaml: store.read_conns: must be between 1 and 64, got 65
	// testdata/bad/out_of_range_numbers.yaml: store.max_conns: must be between 2 and 1000, got 1
	// testdata/bad/out_of_range_numbers.yaml: pipeline.max_batch_events: must be between 1 and 100000, got 100001
	// testdata/bad/out_of_range_numbers.yaml: pipeline.commit_delay: must be between 0s and 100ms, got 1s
	// testdata/bad/out_of_range_numbers.yaml: pipeline.queue_size: must be between 1 and 1000000, got 0
	// testdata/bad/out_of_range_numbers.yaml: pipeline.max_future: must be between 1m and 8760h, got 30s
	// auth.keys[1].scope | unknown key (line 8); did you mean scopes?
}

// Redacted is what may be logged.
func ExampleConfig_Redacted() {
	cfg := config.Default()
	cfg.Auth.AdminKey = "3f9c1e0b7a2d4c6e8f0a1b2c"
	cfg.Store.DatabaseURL = "postgres://crossdock:hunter2@db:5432/crossdock"
	r := cfg.Redacted()
	fmt.Println(r.Auth.AdminKey, r.Store.DatabaseURL)
	// Output: *** postgres://crossdock:***@db:5432/crossdock
}

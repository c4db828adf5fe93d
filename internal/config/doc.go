// Package config loads crossdock's configuration: a strict YAML file
// (unknown keys are errors naming the key path and line), defaults for every
// field, then the contract's environment variables, which win over the file.
// Validate names every bad key. It reads files and the environment it is
// given, and nothing else.
package config

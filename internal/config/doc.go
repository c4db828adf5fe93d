// Package config owns crossdock's start-up configuration: the Config type
// with every default (Default), loading (Load: a strict YAML file, then the
// contract's environment variables CROSSDOCK_HTTP_ADDR, CROSSDOCK_DATA_DIR,
// CROSSDOCK_DATABASE_URL and CROSSDOCK_ADMIN_KEY, which win over it),
// validation that names every bad key with its dotted path (Validate,
// *Error), and the copy that is safe to log (Redacted).
//
// Error messages read "key.path: what is wrong (line N)"; they never repeat
// a secret. testdata/full.yaml is the documented example (docs/
// configuration.yaml is a copy of it) and testdata/bad holds one file per
// kind of mistake next to the exact message it gets.
//
// The package reads the file it is given and the variables through the
// getenv it is given, and nothing else: it opens no store, listens on
// nothing and does not read os.Environ itself. What a setting means at run
// time belongs to the package that uses it.
package config

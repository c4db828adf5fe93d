// Package api is crossdock's REST API v1 on net/http with huma: routes,
// authentication and scopes, request limits, correlation ids and RFC 9457
// problem+json errors from one catalog.
//
// Handlers translate HTTP to calls on the pipeline (writes) and the store
// (reads); they hold no business rules and never write tables themselves.
package api

// Package dropdir watches a partner's drop folder: it polls the directory,
// hands each complete file to a Handler, one at a time in name order, and
// moves the file to done/ or failed/ according to the result.
//
// It owns only the folder: listing it, telling complete files from those
// still being written, and moving files. It does no HTTP, touches no
// store, reads no file format and applies no mapping — the Handler (the
// hub) parses the file, applies its good rows and keeps its bad rows in
// quarantine.
//
// # Complete files
//
// A file is taken once two scans in a row found it with the same size and
// modification time, and its size and time still match when it is opened.
// Names starting with "." and ending in ".tmp" or ".part" (any case) are
// never taken, nor anything that is not a regular file; writers should
// write under such a name and rename when done.
//
// # Results
//
//   - Handler returns nil: the file moves to done/<timestamp>-<name>.
//   - Handler returns an error marked with Permanent: the file moves to
//     failed/<timestamp>-<name>, and failed/<timestamp>-<name>.error.txt
//     holds the reason.
//   - Any other error: the file stays and is offered again after a backoff
//     that doubles from Interval up to MaxBackoff; files after it in name
//     order wait, so that a partner's files are applied in order.
//
// The timestamp is UTC, "20060102T150405.000000000Z", so done/ and failed/
// list in the order files were handled.
//
// # At least once
//
// A file is moved only after its Handler returned, and Handler must return
// nil only once the file's rows are durable. If the process dies between
// the two, or the move fails, the file is still in the folder and is
// handled again: every file is handled at least once, possibly more. The
// hub makes that safe by deduplicating what it applies.
package dropdir

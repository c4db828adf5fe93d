// Package edi delivers events to a trading partner as ASC X12 files
// (version 004010): invoice.ready as a 210 freight invoice, and
// shipment.milestone, shipment.status_changed and delivery.completed as a
// 214 shipment status. Files go to a local directory (a path or
// file:///dir: a mounted share, an EDI gateway's outbox) or to an SFTP
// server (sftp://user@host:port/dir).
//
// It owns the mapping from events to X12 (through package x12's writers),
// the file naming and the two transports. It must not touch the store or
// the pipeline, and it logs nothing.
//
// # Documents
//
// Each delivery writes one interchange with one group and one set
// (ST02 0001). ISA09/ISA10 and GS04/GS05 are the event's time in UTC, so a
// repeat of a delivery renders the same bytes.
//
// 210: B302 the invoice id, B303 the shipment id, B306 created_at, B307
// and L305 the total in cents; C3 the currency; N1*BT*…*91 the customer
// id; one LX/L1 loop per invoice line (L104 amount, L108 the X12 special
// charge code of the line's code, L112 its description cut to 25
// printable ASCII characters), then one for the tax when it is not zero,
// so that the total is the sum of the L1s. No L0 is written: the lines'
// quantities are kilometres, stops and hours, not lading pieces. The
// default charge codes are distance → 400 (freight) and fuel_surcharge →
// 405 (fuel surcharge); other lines and the tax go without L108.
//
// 214: B10 the shipment id (ShipmentID, else the subject) and SCAC; one
// LX/AT7 loop timed at the event (AT707 UT), MS1 from location, L11*…*QN
// from stop_id. AT701 status codes:
//
//	event                    value        AT701  meaning
//	shipment.milestone       arrived      X1     Arrived at Delivery Location
//	shipment.milestone       departed     AF     Carrier Departed Pick-up Location with Shipment
//	shipment.milestone       in_transit   X6     En Route to Delivery Location
//	shipment.milestone       delayed      SD     Shipment Delayed (AT702 below)
//	shipment.status_changed  in_transit   X6     En Route to Delivery Location
//	shipment.status_changed  delivered    D1     Completed Unloading at Delivery Location
//	shipment.status_changed  cancelled    CA     Shipment Cancelled
//	delivery.completed       (any)        D1     Completed Unloading at Delivery Location
//
// A milestone carries no stop type, so every arrival is X1 and every
// departure AF. AT702 is NS (normal) except for SD, where it is the
// reason when the reason is an AT702 code (AO, AI, …) or the meaning of
// one ("weather or natural disaster related", also after "shipment
// delayed: "), else BG (other). Status changes to released, planned or
// invoiced have no 214 status: nothing is sent, and the delivery ends with
// the reference "none: no 214 status for <status>".
//
// # Files and idempotency
//
// A file is named by the template of option filename, {type}-{delivery}.edi
// by default: {type} is 210 or 214, {delivery} the delivery id (bytes
// other than letters, digits, '-', '_' and a '.' not in first place
// escaped as %XX), {control} the interchange control number. The
// template must hold {delivery}, so each delivery has its own file and a
// repeat writes the same one. The file is written under a unique name
// ending in .tmp (directory) or .part (SFTP), synced (SFTP: when the
// server offers fsync@openssh.com) and renamed into place (SFTP:
// posix-rename@openssh.com where offered, else a plain rename after
// removing a stale file of that name), so a partner that picks up
// *.edi never reads half a file. A repeat that finds the file holding the
// same bytes succeeds without writing; one that finds other bytes (the
// options changed) replaces it.
//
// The interchange control number ISA13 (and GS06) is derived from the
// delivery id: the first 8 bytes of its SHA-256, modulo 999,999,999, plus
// one. When the partner has already taken the file away and a retry
// writes it again (the hub crashed after the write but before recording
// it), the partner's duplicate-interchange check drops it. Two different
// deliveries get the same number with probability 1 in 999,999,999 per
// pair: among n interchanges to one partner about n²/2×10⁹ (0.05 % for
// 1,000, 5 % for 10,000), so partners should check duplicates over a
// window (days), not for ever. The receipt's Ref is ISA13 as 9 digits.
//
// # Errors
//
// An event that cannot become a valid document is refused for good
// (outbox.Permanent) with the reason: an unsupported type or status, a
// missing id, a customer, shipment or stop id with a delimiter (* > ~) or
// a non-ASCII byte, an amount with more than two decimals, a subtotal not
// the sum of the lines or a total not subtotal plus tax, a coordinate out
// of range. X12's maximum lengths (B302 22, B303 and B1002 30) are not
// enforced. Everything that can go wrong while storing the file is
// retried: a missing or read-only directory, a full disk, a refused or
// timed-out connection, a failed SSH handshake, login or host key check.
//
// Every delivery is bounded by Config.Timeout (default 10 s) and its
// context. Local writes run aside so a hung mount cannot hold a delivery;
// an SFTP upload that outlives the deadline drops the connection.
//
// # SFTP
//
// One SSH connection is shared by all deliveries of a connector and
// dialled again, by one of them while the others wait, when it broke.
// Login is by password (Config.Password) or private key (option
// key_file; Config.Password is then the passphrase of an encrypted key).
// The server's host key must be in the known_hosts file of option
// known_hosts; an unknown or changed key refuses the connection.
//
// # Options
//
//	key                       default                 meaning
//	sender_id                 (required)              ISA06 and GS02: our interchange id, 1–15 characters
//	receiver_id               (required)              ISA08 and GS03: the partner's id, 1–15 characters
//	sender_qualifier          ZZ                      ISA05 (ZZ mutually defined, 02 SCAC, 01 DUNS, …)
//	receiver_qualifier        ZZ                      ISA07
//	usage                     P                       ISA15: P production, T test
//	scac                      ""                      our SCAC, 2–4 letters or digits: B311 of the 210, B1003 of the 214
//	filename                  {type}-{delivery}.edi   file name template: {type}, {delivery} (required), {control}
//	charge_codes              ""                      line code=X12 code pairs, comma-separated, added to the
//	                                                  defaults (distance=400,fuel_surcharge=405); "tax" names
//	                                                  the tax line; code= sends a line without L108
//	path                      the url's path          sftp only: the directory on the server
//	key_file                  ""                      sftp only: private key file (OpenSSH or PEM)
//	known_hosts               (required for sftp)     sftp only: known_hosts file holding the server's host key
//	insecure_ignore_host_key  false                   sftp only: "true" accepts any host key — tests only,
//	                                                  never in production
package edi

// Package x12 reads and writes the ASC X12 transport messages crossdock
// exchanges with carriers: it parses an interchange and checks its
// envelopes, translates load tenders (204), shipment statuses (214) and
// tender responses (990) into canonical events, builds the 997 functional
// acknowledgment, and writes outbound freight invoices (210) and statuses
// (214).
//
// It owns the X12 syntax, the envelope rules, the translation tables and
// the 997. It does no I/O, knows nothing of HTTP or the store, and does not
// validate the events it produces against the canonical contract: the hub
// validates and quarantines them like any other inbound event. It depends
// on the standard library only.
//
// # Syntax
//
// The delimiters come from the ISA: the element separator is its fourth
// byte, ISA16 is the component separator and the byte after ISA16 is the
// segment terminator. The ISA is read by counting its 16 element
// separators, so the fixed-width 106-byte layout is accepted but not
// required (real senders shorten the padded fields). ISA11 is taken as
// the repetition separator when it is a single non-alphanumeric character,
// whatever the version. A byte order mark and white space before the ISA,
// white space (also indentation) between segments, a line break as the
// segment terminator and a missing terminator after the IEA are tolerated.
// Elements are slices into the input; nothing is copied.
//
// # Envelope rules
//
// Interchange-level problems reject the interchange as a whole: Parse
// returns an *Error and no 997 is produced (a TA1 is out of scope). They
// are: no or malformed ISA, an invalid ISA13, a segment outside any
// functional group (or an unreadable segment id there), a missing IEA, IEA01 not the number of groups, IEA02 not ISA13
// and anything but white space after the IEA.
//
// Group-level problems (GE missing, GE01 not the number of sets, GE02 not
// GS06, GS06 not numeric, an invalid GS04 date or GS05 time, segments
// between sets) reject the whole group: none of its sets is translated,
// each gets AK5 R (without a code when the set itself was fine) and AK9 is
// R with the AK905 codes 3, 5, 4 or 6. Bad GS dates and times have no code
// in the 4010 list, so their AK9 R carries none. Control numbers of ISA/IEA
// and GS/GE are compared as numbers (leading zeros ignored).
//
// Set-level problems (SE missing, SE01 not the number of segments ST..SE,
// SE02 not ST02, an invalid or repeated ST01/ST02, an unsupported set id)
// reject that set only (AK5 R with codes 2, 4, 3, 6, 7, 23 or 1). ST02 is
// compared exactly; one shorter than the standard's four characters is
// accepted.
//
// Problems found while translating are segment errors (AK3, e.g. 3
// mandatory segment missing) or element errors (AK3 8 with AK4, e.g. 7
// invalid code value). In a 204 or a 990 they reject the set: its one
// event would be wrong. In a 214 each status stands alone, so an unmapped
// AT7 status code or a bad status date skips only that status and the set
// is accepted with errors (AK5 E 5); the caller quarantines the set's Raw
// bytes for review while its other statuses apply.
//
// # Translation
//
// Event ids are "<ISA06>-<ISA13>-<GS06>-<ST02>-<n>", n counting the
// events of the set from 1, so re-posting an interchange gives the same
// ids. Times sent as local time (time code LT or none), and the GS date and
// time, are read in TranslateOptions.Location, UTC by default. The US time
// codes (ET, CT, MT, PT, AT Alaska, HT Hawaii-Aleutian, TT Atlantic, NT
// Newfoundland; AK is accepted for Alaska) follow daylight saving time;
// the S/D codes (ES, ED, CS, …, also EST, EDT, …) are fixed standard or
// daylight offsets; UT and GM are UTC; 01..24 are the ISO offsets P01..P12
// and M12..M01.
//
// 204 → order.released, timed at the GS date and time. The subject is the
// shipment id B204, else the L11 BM (bill of lading), else L11 SI;
// order_id is B204, else L11 PO, else the subject. customer_id is the id
// (N104) of the bill-to party, else of the shipper, else ISA06. B2A 01
// (cancellation) gives shipment.cancelled instead. Each S5 loop is a stop:
// id S501 (the stop sequence number 214s refer to), type from StopTypes,
// location id N104, else the N4 location identifier N406, else
// "loc-<hash of name and address>", with the N1/N3/N4 address as an extra
// "address" member; the window spans the G62 dates of the stop (37/53 the
// earliest, 38/54 the latest, 10/68/69/70 a requested or scheduled moment
// or, without time, day) and is left out unless both ends are known.
// Header L11s become references keyed by their X12 qualifier ("BM", "PO",
// …). weight_kg and pieces come from header AT8s, else from the S5 and AT8
// weights of the pick-up stops (unit L pounds is converted, K kept).
//
// 214 → one event per AT7 status (AT701) by AT7Codes: shipment.milestone,
// delivery.completed or shipment.cancelled, subject B1002, else B1001. The
// time is AT705/AT706/AT707; estimates (AG, X2, …) are timed at the GS date
// and time with the forecast in the reason. The stop id is the LX loop's
// L11 with qualifier QN (stop sequence number), the convention of carrier
// implementation guides; LX01 numbers status loops, not stops (the
// samples number orders with it), so it is used only with
// TranslateOptions.StopFromLX, and otherwise the stop id stays empty for
// the hub to reject or match. MS1 coordinates (degrees-minutes-seconds
// with E/W and N/S, or decimal degrees) give location; MS1 city, state and
// country give an extra "place"; MS2 gives "equipment" {scac, number}.
// Every event carries the X12 status code as "status_code". X12 4010 has
// no signer element, so signed_by is the N102 of the N1 named by
// TranslateOptions.SignerEntity, else "". Appointment statuses (AT703,
// AppointmentCodes) are plans, not milestones, and give no event.
//
// 990 → tender.responded: subject B102, carrier B101, response from B104
// by TenderResponses, reason from K1 remarks, else B106, else V908; N9
// references go along as "references".
//
// Other transaction sets (210, 856, 997, …) are rejected as not supported.
//
// # Writing
//
// Write210 and Write214 emit complete interchanges in version 004010.
// Money is a decimal string throughout and is written in cents (implied
// two decimals); an invoice total must equal the sum of its lines.
package x12

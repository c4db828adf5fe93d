# Three ways to use code tables: code/1 (missing key is an error),
# code/2 (missing key gives the default) and $tables (missing key is null).
{type: "shipment.milestone", id: .id, subject: .shipment, time: .at,
 data: {code: (.status | code("status_codes")),
        reason: (.reason_code | code("reasons"; "other")),
        stop_id: $tables.stops[.stop | tostring]}}

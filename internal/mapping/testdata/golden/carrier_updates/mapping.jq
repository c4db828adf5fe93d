# One webhook carries several tracking updates; each becomes a milestone.
# Timestamps are epoch milliseconds; codes go through the carrier's table;
# members the update lacks are left out rather than sent as null.
.shipment as $s
| [.updates[]
   | {type: "shipment.milestone",
      id: "\($s.tracking)-\(.seq)",
      subject: $s.reference,
      time: (.timestamp_ms / 1000 | floor | todate),
      data: ({code: (.status | code("milestones")),
              stop_id: .stop_ref,
              location: (.position | if . then {lat, lon: .lng} else null end),
              reason: .note}
             | with_entries(select(.value != null)))}]

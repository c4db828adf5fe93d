# Several outputs, objects and arrays, are concatenated in order.
. as $in
| {type: "shipment.milestone", id: "\(.id)-arr", subject: .shipment, data: {code: "arrived", stop_id: .stop}},
  [{type: "delivery.completed", id: "\(.id)-pod", subject: .shipment,
    data: {stop_id: .stop, signed_by: .signer, exceptions: [.exceptions[] | {code}]}}],
  [],
  (.delays[] | {type: "shipment.milestone", id: "\($in.id)-delay-\(.n)", subject: $in.shipment,
                data: {code: "delayed", reason: .why}})

{type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
 data: {code: ({"DEP": "departed", "ARR": "arrived"}[.code]), stop_id: .stop}}

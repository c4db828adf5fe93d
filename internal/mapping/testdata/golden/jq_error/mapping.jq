if .load == null then error("payload has no load number") else {type: "shipment.milestone", subject: .load} end

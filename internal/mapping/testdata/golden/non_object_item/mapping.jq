[{type: "shipment.milestone", id: .eventId}, .code]

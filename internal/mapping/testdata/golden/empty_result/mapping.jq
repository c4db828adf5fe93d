# Only delivered updates are of interest; others yield no event.
[.updates[] | select(.status == "DL") | {type: "shipment.milestone", id: .id, subject: .shipment}]

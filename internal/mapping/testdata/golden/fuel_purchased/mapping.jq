# A fuel-card transaction. The amount leaves as a decimal string with two
# places: decimal(2) formats the number's text without a float (84.2 →
# "84.20"); tostring keeps the text as sent (the VAT "13.45" here).
{type: "fuel.purchased",
 id: "fuelcard-\(.txn.id)",
 subject: .txn.vehicle.plate | ascii_upcase | gsub(" "; ""),
 time: (.txn.date + "T" + .txn.time + "Z"),
 data: {liters: .txn.quantity,
        amount: (.txn.total | decimal(2)),
        vat: (.txn.vat | tostring),
        currency: .txn.currency,
        lat: .txn.site.lat, lon: .txn.site.lon,
        station: .txn.site.name}}

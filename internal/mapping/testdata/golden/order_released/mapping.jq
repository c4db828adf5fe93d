# An ERP order with nested stops becomes order.released.
{type: "order.released",
 id: "order-\(.order.number)-v\(.order.revision)",
 subject: .order.shipment_id,
 time: .order.released_at,
 data: {
   order_id: .order.number,
   customer_id: .order.customer.code,
   stops: [.order.stops | to_entries[] | .key as $i | .value
     | {id: (.ref // "S\($i + 1)"),
        type: ({"PU": "pickup", "DEL": "delivery"}[.kind]),
        location: {id: .address.id, lat: .address.geo[0], lon: .address.geo[1], radius_m: (.address.fence_m // 0)}}
       + if .slot then {window: {from: .slot.start, to: .slot.end}} else {} end],
   accessorials: [.order.services[]? | ascii_downcase],
   weight_kg: .order.weight.value,
   pieces: .order.pieces,
   references: {po: .order.po, bol: .order.bol}
 }}

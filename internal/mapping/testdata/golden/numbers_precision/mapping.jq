# Ids and amounts keep the digits they were sent with.
{type: "shipment.milestone", id: (.id | tostring), subject: .load, time: .ts,
 data: {code: "arrived", seq: .id, big: .big, amount_text: (.amount | tostring),
        amount: .amount, sum: (.small + 1), tiny: (.tiny | decimal(4))}}

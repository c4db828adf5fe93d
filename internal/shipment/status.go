package shipment

// Shipment statuses of the contract, in rank order. Cancelled ranks below
// delivered: a shipment whose every delivery stop has a valid POD is
// delivered even if a cancellation was also reported (the cancellation stays
// visible as cancelled_at).
const (
	StatusReleased  = "released"
	StatusPlanned   = "planned"
	StatusInTransit = "in_transit"
	StatusCancelled = "cancelled"
	StatusDelivered = "delivered"
	StatusInvoiced  = "invoiced"
)

// Stop statuses of the contract, in rank order; completed (a POD) is final.
const (
	StopPending   = "pending"
	StopArrived   = "arrived"
	StopDeparted  = "departed"
	StopCompleted = "completed"
)

var statusRank = map[string]int{
	"":              0,
	StatusReleased:  1,
	StatusPlanned:   2,
	StatusInTransit: 3,
	StatusCancelled: 4,
	StatusDelivered: 5,
	StatusInvoiced:  6,
}

// Statuses lists the shipment statuses in rank order.
func Statuses() []string {
	return []string{StatusReleased, StatusPlanned, StatusInTransit, StatusCancelled, StatusDelivered, StatusInvoiced}
}

// Rank orders statuses; an unknown status ranks 0.
func Rank(status string) int { return statusRank[status] }

// ValidStatus reports whether s is a shipment status of the contract.
func ValidStatus(s string) bool { return statusRank[s] > 0 }

// ReasonOnTime is the reason of an in_transit milestone that clears an
// earlier delayed one: the shipment is expected in its window again.
const ReasonOnTime = "on_time"

package canonical

import "strings"

// FieldError names one violated rule. Field is a path into the event such
// as "data.stops[1].location.lat", "time", or "" for the body as a whole.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError carries every FieldError found in an event, not just the
// first, in the order of the fields in the contract: envelope attributes
// (specversion, id, source, type, subject, time, datacontenttype,
// correlationid, causationid, data), then data members in the order of the
// contract's table, array elements by index.
type ValidationError struct {
	Errors []FieldError
}

// Error joins the field errors into one line:
// "data.stops[1].location.lat: must be between -90 and 90 (got 91); time: is required".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		if f.Field == "" {
			parts[i] = f.Message
		} else {
			parts[i] = f.Field + ": " + f.Message
		}
	}
	return strings.Join(parts, "; ")
}

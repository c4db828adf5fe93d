package canonical

import "strings"

// FieldError names one violated rule. Field is a path into the event such
// as "data.stops[1].location.lat", "time", or "" for the body as a whole.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError carries every FieldError found in an event, in the order
// the fields appear in the rules.
type ValidationError struct {
	Errors []FieldError
}

// Error joins the field errors into one line.
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

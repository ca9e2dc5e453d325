package comment

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Store implementations translate driver errors
// into these at their edge, so nothing above the store sees SQL errors.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	// ErrClosed is returned when a thread no longer takes comments.
	ErrClosed = errors.New("comments are closed")
	// ErrUnavailable means the store cannot be reached right now; readers
	// get a 503 and should retry.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrLoginRequired means the site lets only logged-in readers comment.
	ErrLoginRequired = errors.New("log in to comment")
)

// ValidationError reports input a reader can fix. Message is safe to show
// to the reader as it is; Code is stable so a widget can translate it.
type ValidationError struct {
	Field   string
	Code    string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Invalid returns a ValidationError for field with a reader-safe message.
// Its code is "invalid_" plus the field name.
func Invalid(field, message string) error {
	return &ValidationError{Field: field, Code: "invalid_" + field, Message: message}
}

// Missing returns a ValidationError for a required field left empty.
func Missing(field, message string) error {
	return &ValidationError{Field: field, Code: "missing_" + field, Message: message}
}

package inctrl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call or a failed stream request, mapped from its gRPC status.
// Match kinds with errors.Is(err, inctrl.ErrInvalidArgument) or inspect Code with errors.As.
type Error struct {
	Code      codes.Code
	Message   string
	RequestID string // set for a failed ScoreStream request
}

func (e *Error) Error() string {
	if e.RequestID != "" {
		return fmt.Sprintf("inctrl: %s: %s [request_id=%s]", codeName(e.Code), e.Message, e.RequestID)
	}
	return fmt.Sprintf("inctrl: %s: %s", codeName(e.Code), e.Message)
}

// Is makes the sentinels below match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.RequestID == ""
}

// GRPCStatus lets status.FromError / status.Code see through the mapping.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// Sentinels for errors.Is.
var (
	ErrCancelled          = &Error{Code: codes.Canceled}
	ErrInvalidArgument    = &Error{Code: codes.InvalidArgument}
	ErrDeadlineExceeded   = &Error{Code: codes.DeadlineExceeded}
	ErrNotFound           = &Error{Code: codes.NotFound}
	ErrAlreadyExists      = &Error{Code: codes.AlreadyExists}
	ErrPermissionDenied   = &Error{Code: codes.PermissionDenied}
	ErrResourceExhausted  = &Error{Code: codes.ResourceExhausted}
	ErrFailedPrecondition = &Error{Code: codes.FailedPrecondition}
	ErrUnimplemented      = &Error{Code: codes.Unimplemented}
	ErrInternal           = &Error{Code: codes.Internal}
	ErrUnavailable        = &Error{Code: codes.Unavailable}
	ErrUnauthenticated    = &Error{Code: codes.Unauthenticated}
)

// FromError maps any error returned by gRPC (or a context error) to *Error; nil stays nil.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: codes.DeadlineExceeded, Message: err.Error()}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: codes.Canceled, Message: err.Error()}
	}
	st, _ := status.FromError(err)
	return &Error{Code: st.Code(), Message: st.Message()}
}

// FromCodeName maps the Error message of a failed stream response ("INVALID_ARGUMENT", ...).
func FromCodeName(name, message, requestID string) *Error {
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(`"` + strings.ToUpper(strings.TrimSpace(name)) + `"`)); err != nil {
		c = codes.Unknown
	}
	return &Error{Code: c, Message: message, RequestID: requestID}
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return c.String()
}

package inctrl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/inctrl-serve/inctrl-serve/clients/go/inctrlv1"
)

// Error is a failed call or a failed stream request, mapped from its gRPC status.
// Match kinds with errors.Is(err, inctrl.ErrInvalidArgument) or inspect Code with errors.As.
type Error struct {
	Code      codes.Code
	Message   string
	RequestID string // set for a failed ScoreStream request
	// Reason is the server's stable reason (google.rpc.ErrorInfo, or a stream item's Error.reason; see
	// docs/errors.md); empty when none came.
	Reason string
	// Retryable is true when the server sent a retry hint (google.rpc.RetryInfo or Error.retry_after): exactly for
	// reasons where resending the same request may succeed (QUEUE_FULL, RATE_LIMITED, DRAINING, ...), after
	// RetryAfter (zero: at once, on another replica).
	Retryable  bool
	RetryAfter time.Duration
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
	// ErrAborted: e.g. CONCURRENT_CHANGE, a prompt set's shots changed while AddShots/RemoveShots ran.
	ErrAborted         = &Error{Code: codes.Aborted}
	ErrUnimplemented   = &Error{Code: codes.Unimplemented}
	ErrInternal        = &Error{Code: codes.Internal}
	ErrUnavailable     = &Error{Code: codes.Unavailable}
	ErrUnauthenticated = &Error{Code: codes.Unauthenticated}
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
	e := &Error{Code: st.Code(), Message: st.Message()}
	// the server's google.rpc details; the transport's own failures carry none
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			e.Reason = d.GetReason()
		case *errdetails.RetryInfo:
			e.Retryable, e.RetryAfter = true, d.GetRetryDelay().AsDuration()
		}
	}
	return e
}

// FromStreamError maps the Error of a failed stream response, with its reason and retry hint.
func FromStreamError(e *pb.Error, requestID string) *Error {
	out := FromCodeName(e.GetCode(), e.GetMessage(), requestID)
	out.Reason = e.GetReason()
	if e.GetRetryAfter() != nil {
		out.Retryable, out.RetryAfter = true, e.GetRetryAfter().AsDuration()
	}
	return out
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

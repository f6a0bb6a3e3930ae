package loadgen

import (
	"context"
	"errors"
	"time"
)

// A Target serves requests. Do must honour ctx: when it is cancelled, Do returns soon with
// an error wrapping ctx.Err(). Do is called from many goroutines at once.
type Target interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// TargetFunc adapts a function to a Target.
type TargetFunc func(ctx context.Context, req *Request) (*Response, error)

// Do calls f.
func (f TargetFunc) Do(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// ErrRejected is returned (wrapped) by a target that refuses a request, for example
// because its queue is full. The recorder counts it as a reject, not an error.
var ErrRejected = errors.New("request rejected")

// A Request is one unit of work. The payload fields are filled by Options.Request.
type Request struct {
	// Seq numbers the requests of a probe from 0 in schedule order.
	Seq int64
	// Intended is the time the schedule meant the request to be sent.
	Intended time.Time
	// Tokens is the token-id input of a sequence model.
	Tokens []int32
	// Features is the input row of a tabular model.
	Features []float32
	// MaxTokens is the number of output tokens wanted (generation); 0 for one result.
	MaxTokens int
}

// A Response is what a target reports about a served request.
type Response struct {
	// Class is the result of a classifier (or -1 when not meaningful).
	Class int
	// Tokens are the generated token ids, one per entry of TokenTimes.
	Tokens []int32
	// TokenTimes are the times each output token was produced (streamed output).
	TokenTimes []time.Time
	// QueueWait is the time the request waited in the target before service began.
	QueueWait time.Duration
	// Service is the time the target spent serving the request (or its batch).
	Service time.Duration
	// BatchSize is the number of requests served together with this one (1 if unbatched).
	BatchSize int
}

// Noop is a target that returns at once; it measures the generator itself.
type Noop struct{}

var noopResponse = &Response{Class: -1, BatchSize: 1}

// Do returns a shared empty response.
func (Noop) Do(ctx context.Context, _ *Request) (*Response, error) {
	return noopResponse, nil
}

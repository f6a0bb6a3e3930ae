package sched_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a batcher goroutine, or a goroutine a test started, is still
// running once the tests are done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

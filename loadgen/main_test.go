package loadgen_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine a probe or target started is still running
// once the tests are done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

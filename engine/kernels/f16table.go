package kernels

import (
	"sync"

	"github.com/infertune/infertune/engine/tensor"
)

// f16Table maps every fp16 bit pattern to its float32 value: 256 KiB, built on first use and
// read-only afterwards. Block kernels look their scales up here instead of converting.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = tensor.F16ToF32(uint16(i))
	}
	return &t
})

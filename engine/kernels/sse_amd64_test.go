//go:build goexperiment.simd && amd64 && !race

package kernels

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestNoSSEInVectorCode disassembles this test binary (with binutils' objdump, skipped
// where there is none) and fails where a function of this package can reach a legacy SSE
// instruction that writes an X register, or a call of memmove, while the upper halves of
// the vector registers hold 256- or 512-bit results: on CPUs that charge for leaving the
// vector state, each such switch costs about 55 ns (see the package doc), and Go emits
// scalar float code, zeroing and some shift counts in SSE encodings. The analysis follows
// each function's jumps: a state is dirty after an instruction on Y or Z registers and
// clean after VZEROUPPER; a function starts clean. Not under -race: the race build spills
// and reloads vectors with legacy moves of its own (make test runs this test without it).
func TestNoSSEInVectorCode(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("no objdump to disassemble with")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", exe).Output()
	if err != nil {
		t.Skipf("objdump: %v", err)
	}
	funcs := parseDisassembly(out, "github.com/infertune/infertune/engine/kernels.")
	if len(funcs[runtime.FuncForPC(reflect.ValueOf(quantBlocksAVX512).Pointer()).Name()]) == 0 {
		t.Skipf("objdump found none of this package's functions in %s (%d bytes)", exe, len(out))
	}
	// Which functions may return with the state dirty: assumed not, then found, until
	// nothing changes.
	dirtyExit := map[string]bool{}
	for name := range funcs {
		dirtyExit[name] = false
	}
	for changed := true; changed; {
		changed = false
		for name, ins := range funcs {
			if _, d := sseWhileDirty(ins, dirtyExit); d != dirtyExit[name] {
				dirtyExit[name], changed = d, true
			}
		}
	}
	for name, ins := range funcs {
		bad, _ := sseWhileDirty(ins, dirtyExit)
		for _, in := range bad {
			t.Errorf("%s: %s %s can run after 256- or 512-bit code without VZEROUPPER", name, in.op, in.args)
		}
	}
}

// insn is one disassembled instruction.
type insn struct {
	addr     uint64
	op, args string
}

var (
	insnLine = regexp.MustCompile(`^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$`)
	target   = regexp.MustCompile(`^(?:0x)?([0-9a-f]+)\b`)
)

// parseDisassembly returns the instructions of the functions whose names start with
// prefix, by name. Test binaries have no symbol table: the runtime's own table names the
// function at each address.
func parseDisassembly(out []byte, prefix string) map[string][]insn {
	funcs := map[string][]insn{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		m := insnLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			continue
		}
		f := runtime.FuncForPC(uintptr(a))
		if f == nil {
			continue
		}
		// Code inlined into a function is named for the inlined one; its entry is the
		// function's own.
		if f = runtime.FuncForPC(f.Entry()); f == nil || !strings.HasPrefix(f.Name(), prefix) {
			continue
		}
		funcs[f.Name()] = append(funcs[f.Name()], insn{addr: a, op: m[2], args: m[3]})
	}
	return funcs
}

// sseWhileDirty returns the instructions of one function that write an X register in a
// legacy SSE encoding, or call memmove, on some path from its start that ran 256- or
// 512-bit code since the last VZEROUPPER, and whether it may return so. A call of a
// function that panics or grows the stack does not return; a call of a function of
// dirtyExit's keys leaves the state its value says (every other call, as it was).
func sseWhileDirty(ins []insn, dirtyExit map[string]bool) (bad []insn, exitDirty bool) {
	at := map[uint64]int{}
	for i, in := range ins {
		at[in.addr] = i
	}
	dirty := make([]bool, len(ins)) // the state before instruction i may be dirty
	seen := make([]bool, len(ins))
	type item struct {
		i     int
		dirty bool
	}
	work := []item{{0, false}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		if it.i >= len(ins) || (seen[it.i] && (dirty[it.i] || !it.dirty)) {
			continue
		}
		seen[it.i] = true
		dirty[it.i] = dirty[it.i] || it.dirty
		in := ins[it.i]
		after := dirty[it.i]
		switch {
		case in.op == "vzeroupper" || in.op == "vzeroall":
			after = false
		case strings.Contains(in.args, "%ymm") || strings.Contains(in.args, "%zmm"):
			after = true
		}
		switch {
		case strings.HasPrefix(in.op, "j"):
			if a, ok := jumpTarget(in.args); ok {
				if j, ok := at[a]; ok {
					work = append(work, item{j, after})
				}
			}
			if in.op == "jmp" {
				continue
			}
		case strings.HasPrefix(in.op, "call"):
			callee := calleeName(in.args)
			if strings.HasPrefix(callee, "runtime.panic") || strings.HasPrefix(callee, "runtime.morestack") {
				continue
			}
			if d, ok := dirtyExit[callee]; ok {
				after = d
			}
		case strings.HasPrefix(in.op, "ret"):
			exitDirty = exitDirty || after
			continue
		case in.op == "ud2" || in.op == "int3":
			continue
		}
		work = append(work, item{it.i + 1, after})
	}
	for i, in := range ins {
		if !dirty[i] {
			continue
		}
		args := strings.Split(in.args, ",")
		writesX := !strings.HasPrefix(in.op, "v") && strings.Contains(args[len(args)-1], "%xmm")
		memmove := strings.HasPrefix(in.op, "call") && calleeName(in.args) == "runtime.memmove"
		if writesX || memmove {
			bad = append(bad, in)
		}
	}
	return bad, exitDirty
}

// jumpTarget returns the address a direct jump or call names.
func jumpTarget(args string) (uint64, bool) {
	m := target.FindStringSubmatch(args)
	if m == nil {
		return 0, false
	}
	a, err := strconv.ParseUint(m[1], 16, 64)
	return a, err == nil
}

// calleeName returns the name of the function a direct call names, or "".
func calleeName(args string) string {
	if a, ok := jumpTarget(args); ok {
		if f := runtime.FuncForPC(uintptr(a)); f != nil {
			return f.Name()
		}
	}
	return ""
}

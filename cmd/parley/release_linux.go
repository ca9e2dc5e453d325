package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// releaseStartPages gives back the memory that only starting up used, once
// the server is up. Two kinds:
//
//   - the heap's garbage from start (parsing flags, migrations, building
//     the demo): a collection now returns it to the system at once rather
//     than minutes later;
//   - the pages of the binary's code and read-only data that start touched:
//     every package's init code, the migrations, the embedded files read
//     once. The kernel maps 64 kB around each page first touched, so start
//     leaves about 20 MB of the binary resident although serving uses half
//     of it. madvise(MADV_DONTNEED) on the binary's read-only mappings
//     unmaps them; they stay in the page cache, and a page serving needs
//     again comes back with a minor fault (no disk read, well under a
//     microsecond).
//
// Writable mappings are never touched: dropping them would lose data. It
// returns how many bytes of mappings it released.
func releaseStartPages() (int, error) {
	debug.FreeOSMemory()
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	released := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00ecb000 r-xp 00000000 fe:00 9986065    /usr/bin/parley
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || len(fields[1]) < 2 || fields[1][1] != '-' {
			continue // not the binary's, or writable
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return released, fmt.Errorf("unreadable line in /proc/self/maps: %q", sc.Text())
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("madvise: %w", errno)
		}
		released += int(end - start)
	}
	return released, sc.Err()
}

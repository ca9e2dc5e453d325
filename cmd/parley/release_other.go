//go:build !linux

package main

import "runtime/debug"

// releaseStartPages returns the heap's garbage from start to the system;
// giving back the binary's start-only pages is done on Linux only.
func releaseStartPages() (int, error) {
	debug.FreeOSMemory()
	return 0, nil
}

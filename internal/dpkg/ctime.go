package dpkg

import (
	"os"
	"syscall"
)

// ctime returns the change time of p in Unix nanoseconds, 0 when unknown.
func ctime(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}

// Package sysinfo reads what a manifest records about the host: the OS
// (os-release, kernel release, C library), the CPU (/proc/cpuinfo, with the
// x86-64 microarchitecture level computed from its flags) and NVIDIA GPUs
// (nvidia-smi). Every parser takes untrusted bytes and returns an error
// naming the line it could not read; none panics.
package sysinfo

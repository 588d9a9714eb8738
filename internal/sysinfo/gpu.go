package sysinfo

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GPU is one NVIDIA GPU as nvidia-smi reports it.
type GPU struct {
	Name              string
	UUID              string
	Driver            string
	ComputeCapability string // "8.0"; "" when the driver cannot report it
	MemoryMiB         int64
}

// GPUFields are the --query-gpu fields asked for, in order.
var GPUFields = []string{"name", "uuid", "driver_version", "compute_cap", "memory.total"}

// ParseNvidiaSMI reads the output of
//
//	nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits
//
// one line per GPU, values separated by ", " in the order of fields.
// "[N/A]", "N/A" and "[Not Supported]" are empty values; a memory value may
// carry a " MiB" unit. A line with the wrong number of values is an error
// naming its number.
func ParseNvidiaSMI(out []byte, fields []string) ([]GPU, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.LazyQuotes = true
	var gpus []GPU
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi output: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(fields) {
			return nil, fmt.Errorf("nvidia-smi output line %d: %d values, want %d", line, len(rec), len(fields))
		}
		var g GPU
		for i, f := range fields {
			v := strings.TrimSpace(rec[i])
			switch v {
			case "N/A", "[N/A]", "[Not Supported]", "Not Supported":
				v = ""
			}
			switch f {
			case "name", "gpu_name":
				g.Name = v
			case "uuid", "gpu_uuid":
				g.UUID = v
			case "driver_version":
				g.Driver = v
			case "compute_cap":
				g.ComputeCapability = v
			case "memory.total":
				v = strings.TrimSpace(strings.TrimSuffix(v, "MiB"))
				if v != "" {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return nil, fmt.Errorf("nvidia-smi output line %d: memory.total %q: not a number", line, rec[i])
					}
					g.MemoryMiB = n
				}
			}
		}
		gpus = append(gpus, g)
	}
	return gpus, nil
}

var invalidField = regexp.MustCompile(`Field "([^"]+)" is not a valid field to query`)

// InvalidField returns the field an older nvidia-smi refused ("Field
// "compute_cap" is not a valid field to query."), or "".
func InvalidField(out []byte) string {
	m := invalidField.FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// QueryGPUs runs nvidia-smi (found on PATH) and returns the GPUs it lists.
// When nvidia-smi is absent it returns nil, nil at once. Fields an older
// driver rejects are dropped one at a time and the query retried. The whole
// query is bounded by timeout.
func QueryGPUs(ctx context.Context, timeout time.Duration) ([]GPU, error) {
	bin, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fields := append([]string(nil), GPUFields...)
	for len(fields) > 0 {
		cmd := exec.CommandContext(ctx, bin, "--query-gpu="+strings.Join(fields, ","), "--format=csv,noheader,nounits")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		if runErr == nil {
			return ParseNvidiaSMI(stdout.Bytes(), fields)
		}
		bad := InvalidField(append(stdout.Bytes(), stderr.Bytes()...))
		if bad == "" || ctx.Err() != nil {
			msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
			return nil, fmt.Errorf("running nvidia-smi: %w: %s", runErr, msg)
		}
		fields = remove(fields, bad)
	}
	return nil, fmt.Errorf("running nvidia-smi: no queryable fields")
}

func remove(fields []string, f string) []string {
	out := fields[:0:0]
	for _, x := range fields {
		if x != f {
			out = append(out, x)
		}
	}
	if len(out) == len(fields) { // refused a field we did not ask for: stop
		return nil
	}
	return out
}

package limits

import (
	"errors"
	"fmt"
	"math"
)

const (
	// MaxStopTimeout bounds stop timeouts (seconds): about 68 years, so
	// that every duration derived from it fits.
	MaxStopTimeout = math.MaxInt32
	// MinMemory is docker's minimum memory limit (6 MiB).
	MinMemory = 6 << 20
	// MinNanoCPUs is docker's smallest --cpus (0.01).
	MinNanoCPUs = 1e7
	// MaxOptionFile bounds a file that an option names (--env-file,
	// --label-file, --security-opt seccomp=FILE): 1 MiB, what a
	// container's arguments and environment may take together.
	MaxOptionFile = 1 << 20
)

// StopTimeout refuses a stop timeout (seconds) that is negative or too
// large to become a duration.
func StopTimeout(t int64) error {
	if t < 0 {
		return errors.New("negative")
	}
	if t > MaxStopTimeout {
		return fmt.Errorf("more than %d seconds", MaxStopTimeout)
	}
	return nil
}

// Memory refuses a memory limit (bytes) below docker's minimum; 0 is no
// limit.
func Memory(n uint64) error {
	if n != 0 && n < MinMemory {
		return fmt.Errorf("below the minimum of %d bytes (6 MiB)", MinMemory)
	}
	return nil
}

// CPUsToNano converts docker's --cpus (a number of CPUs) to nano-CPUs,
// refusing what is not a finite number from 0.01 to max (the CPUs
// available).
func CPUsToNano(cpus float64, max int) (uint64, error) {
	if math.IsNaN(cpus) || math.IsInf(cpus, 0) || cpus*1e9 < MinNanoCPUs || cpus > float64(max) {
		return 0, fmt.Errorf("want a number from 0.01 to %d (the CPUs available)", max)
	}
	return uint64(math.Round(cpus * 1e9)), nil
}

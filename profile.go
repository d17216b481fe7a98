package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// profiles writes pprof CPU and allocation profiles of one command, for measuring the bridge on real work
// (the benchmark passes them); empty paths profile nothing.
type profiles struct{ cpu, alloc string }

func (p *profiles) flags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&p.cpu, "cpu-profile", "", "write a pprof CPU profile of the command to this file")
	f.StringVar(&p.alloc, "alloc-profile", "", "write a pprof allocation profile to this file when the command ends")
}

func (p *profiles) start() (stop func() error, err error) {
	var cpu *os.File
	if p.cpu != "" {
		if cpu, err = os.Create(p.cpu); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err = pprof.StartCPUProfile(cpu); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
		}
		return p.writeAlloc()
	}, nil
}

func (p *profiles) writeAlloc() error {
	if p.alloc == "" {
		return nil
	}
	f, err := os.Create(p.alloc)
	if err != nil {
		return fmt.Errorf("alloc profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("alloc profile: %w", err)
	}
	return f.Close()
}

package localpg

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb and postgres; found when empty (PostgreSQL 15 first).
	BinDir string
	// BaseDir is where the temporary cluster directory is made; os.TempDir()
	// when empty. As root it must be traversable by the postgres user.
	BaseDir string
	// Port to listen on 127.0.0.1; a free one when 0.
	Port int
	// MaxConnections is the server's max_connections; 200 when 0.
	MaxConnections int
	// Settings are extra server settings (postgres -c name=value), applied last.
	Settings map[string]string
	// StartTimeout bounds initdb plus startup when ctx has no earlier
	// deadline; 60s when 0.
	StartTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.BaseDir == "" {
		o.BaseDir = os.TempDir()
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 200
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", o.Port))
	}
	if o.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max connections %d is negative", o.MaxConnections))
	}
	if o.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("start timeout %s is negative", o.StartTimeout))
	}
	return errors.Join(errs...)
}

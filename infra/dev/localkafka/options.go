package localkafka

import (
	"errors"
	"fmt"
	"os"
	"time"

	"hotline-bridge/infra/dev/localproc"
)

// DefaultVersion is the Kafka release the harness runs.
const DefaultVersion = "4.1.1"

// CacheDirEnv overrides where resolved jars are kept (see Options.CacheDir).
const CacheDirEnv = localproc.CacheDirEnv

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Version of org.apache.kafka:kafka_2.13; DefaultVersion when empty.
	Version string
	// CacheDir is the root of the download cache; jars go to
	// CacheDir/kafka/<version>/libs. When empty: $BRIDGE_CACHE_DIR, else
	// <module root>/.cache (ignored by git), else the user cache directory.
	CacheDir string
	// BaseDir is where the broker's temporary directory is made; os.TempDir()
	// when empty.
	BaseDir string
	// Heap is the JVM's -Xmx; "512m" when empty.
	Heap string
	// Properties are extra server.properties entries, applied last.
	Properties map[string]string
	// ResolveTimeout bounds the first mvn download; 15m when 0.
	ResolveTimeout time.Duration
	// StartTimeout bounds formatting plus startup until a client gets
	// metadata; 2m when 0.
	StartTimeout time.Duration
	// Secured, when set, makes the broker demand SASL/SCRAM and enforce ACLs; see Secured.
	Secured *Secured
}

func (o *Options) setDefaults() {
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.BaseDir == "" {
		o.BaseDir = os.TempDir()
	}
	if o.Heap == "" {
		o.Heap = "512m"
	}
	if o.ResolveTimeout == 0 {
		o.ResolveTimeout = 15 * time.Minute
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.ResolveTimeout < 0 {
		errs = append(errs, fmt.Errorf("resolve timeout %s is negative", o.ResolveTimeout))
	}
	if o.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("start timeout %s is negative", o.StartTimeout))
	}
	for _, k := range []string{"node.id", "process.roles", "listeners", "log.dirs"} {
		if _, ok := o.Properties[k]; ok {
			errs = append(errs, fmt.Errorf("property %s is set by localkafka and cannot be overridden", k))
		}
	}
	if o.Secured != nil {
		errs = append(errs, o.Secured.validate())
	}
	return errors.Join(errs...)
}

package localkafka

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// serverProperties is the KRaft configuration of a combined node with
// single-replica internal topics, so one broker is a complete cluster.
func serverProperties(dataDir string, port, controllerPort int, extra map[string]string) map[string]string {
	p := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", port, controllerPort),
		"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port),
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"controller.quorum.bootstrap.servers":              fmt.Sprintf("127.0.0.1:%d", controllerPort),
		"log.dirs":                                         dataDir,
		"num.partitions":                                   "1",
		"auto.create.topics.enable":                        "true",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "5", // fewer than 50: faster first group join
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"transaction.state.log.num.partitions":             "5",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		// Lets tests that kill the bridge set kafka_session_timeout under the broker's default minimum of 6s.
		"group.min.session.timeout.ms": "1000",
		// After a SIGKILL the controller accepts the broker's new
		// incarnation only once the old session has expired: 9s by default.
		"broker.session.timeout.ms":    "4000",
		"broker.heartbeat.interval.ms": "500",
		"num.network.threads":          "2",
		"num.io.threads":               "4",
		// Every new partition preallocates and maps an offset and a time index of this size, and on first use
		// the kernel zero-fills them by readahead: at the 10 MiB default that was about 5 CPU seconds of a
		// benchmark run creating a few hundred partitions (perf: __pi_memset under filemap_fault). A throwaway
		// broker's segments never need more than 1 MiB of index (131,072 entries, one per 4 KiB of log).
		"log.index.size.max.bytes": "1048576",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func writeProperties(path string, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# written by localkafka\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// log4j2Config sends everything to broker.log in the broker's directory;
// the console stays quiet so test output is not flooded.
const log4j2Config = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="${sys:kafka.logs.dir}/broker.log" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka" level="INFO"/>
    <Logger name="org.apache.kafka" level="INFO"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
`

// newClusterID returns a random Kafka UUID in its base64 form.
func newClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("generate cluster id: %w", err)
		}
		// One id in 64 starts with '-', which kafka-storage's argument parser takes for an option.
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

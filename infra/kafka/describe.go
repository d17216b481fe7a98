package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Describe asks the configured brokers, one after the other on connections of their own (as Ping does), what
// they are: the Kafka release their supported API versions match (franz-go's kversion guess: the protocol does not
// carry the software version), the cluster id and how many brokers the cluster has. It answers from the first
// broker that replies; the error names every broker that did not.
func Describe(ctx context.Context, cfg Config) (version, detail string, err error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return "", "", err
	}
	timeout := 2 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Millisecond)
	}
	sc.Net.DialTimeout, sc.Net.ReadTimeout, sc.Net.WriteTimeout = timeout, timeout, timeout
	var errs []error
	for _, addr := range cfg.Brokers {
		version, detail, err := describeBroker(sc, addr)
		if err == nil {
			return version, detail, nil
		}
		errs = append(errs, fmt.Errorf("broker %s: %w", addr, err))
	}
	return "", "", cfg.explain(errors.Join(errs...))
}

func describeBroker(sc *sarama.Config, addr string) (version, detail string, err error) {
	b := sarama.NewBroker(addr)
	if err := b.Open(sc); err != nil {
		return "", "", err
	}
	defer func() { _ = b.Close() }()
	apis, err := b.ApiVersions(&sarama.ApiVersionsRequest{Version: 3, ClientSoftwareName: "hotline-bridge", ClientSoftwareVersion: "inspect"})
	if err != nil {
		return "", "", err
	}
	if apis.ErrorCode != int16(sarama.ErrNoError) {
		return "", "", fmt.Errorf("api versions: %w", sarama.KError(apis.ErrorCode))
	}
	meta, err := b.GetMetadata(&sarama.MetadataRequest{Version: 7, Topics: []string{}})
	if err != nil {
		return "", "", err
	}
	cluster := "(none)"
	if meta.ClusterID != nil {
		cluster = *meta.ClusterID
	}
	detail = fmt.Sprintf("cluster %s, %d brokers, controller %d", cluster, len(meta.Brokers), meta.ControllerID)
	for _, f := range apis.FinalizedFeatures {
		if f.Name == "metadata.version" {
			detail += fmt.Sprintf(", metadata.version level %d", f.MaxVersionLevel)
		}
	}
	return guessRelease(apis), detail, nil
}

// guessRelease names the newest Kafka release whose API versions the broker's answer matches, e.g. "v4.1".
func guessRelease(apis *sarama.ApiVersionsResponse) string {
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, k := range apis.ApiKeys {
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = k.ApiKey, k.MinVersion, k.MaxVersion
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	return "Kafka " + kversion.FromApiVersionsResponse(resp).VersionGuess(kversion.TryRaftBroker())
}

// Package kafka adapts Apache Kafka (through sarama) to Watermill: a batching publisher, topic administration
// and the subscriber configuration the routers use.
package kafka

// Package localkafka runs a throwaway single-node Apache Kafka (KRaft,
// combined broker and controller) for tests: the broker's jars are resolved
// once from Maven Central with mvn into a cache outside git, and each Broker
// gets free loopback ports and temporary log dirs. A Broker can be killed
// and restarted on the same port and data, to test how clients ride out a
// broker that goes away and comes back.
package localkafka

package seed

import "context"

// ValidIDCardNo reports whether an 18-character ID number's check digit is right.
func ValidIDCardNo(s string) bool { return len(s) == 18 && idCardCheck([]byte(s)) == s[17] }

// ValidUSCC reports whether both check characters of a unified social credit code are right.
func ValidUSCC(s string) bool {
	return len(s) == 18 && orgCodeCheck([]byte(s[8:16])) == s[16] && usccCheck([]byte(s)) == s[17]
}

// GenerateInMemory generates the rows Generate would write for opts, chunk by chunk as Generate does, but writes
// none of them; it returns how many it generated.
func GenerateInMemory(opts Options) int {
	opts.setDefaults()
	g := newGen(opts.Seed, buildTree(), newClock(opts.Now, opts.Days))
	g.b = newBatch()
	g.organizations()
	g.personnel()
	g.dictionary()
	rows := batchRows(g.b)
	free, full := make(chan *batch, 1), make(chan *batch)
	free <- newBatch()
	go g.produce(context.Background(), opts, free, full)
	for b := range full {
		rows += batchRows(b)
		free <- b
	}
	return rows
}

func batchRows(b *batch) int {
	n := 0
	for i := range b {
		n += b[i].len()
	}
	return n
}

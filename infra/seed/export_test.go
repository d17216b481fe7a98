package seed

// ValidIDCardNo reports whether an 18-character ID number's check digit is right.
func ValidIDCardNo(s string) bool { return len(s) == 18 && idCardCheck([]byte(s)) == s[17] }

// ValidUSCC reports whether both check characters of a unified social credit code are right.
func ValidUSCC(s string) bool {
	return len(s) == 18 && orgCodeCheck([]byte(s[8:16])) == s[16] && usccCheck([]byte(s)) == s[17]
}

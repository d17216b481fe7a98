package localkafka

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"hotline-bridge/infra/dev/localproc"
)

// startJava starts java in dir with output to logPath. SIGKILL on the parent's death: no broker outlives the test
// process that started it, even one that dies without calling Stop.
func startJava(java string, args []string, dir, logPath string) (*localproc.Process, error) {
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	return localproc.Start(cmd, logPath, syscall.SIGKILL)
}

func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := home + "/bin/java"
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("find java (Kafka 4 needs Java 17+; set JAVA_HOME or put java on PATH): %w", err)
	}
	return p, nil
}

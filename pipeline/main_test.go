package pipeline_test

import (
	"testing"

	"hotline-bridge/infra/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

package pipeline_test

import (
	"testing"

	"hotline-bridge/infra/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

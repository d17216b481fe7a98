package pipeline

import (
	"runtime/debug"

	"hotline-bridge/handlers/inspect"
)

// Version is this binary's build, from the build information Go embeds: the module version (a tag, or a pseudo
// version), and from the VCS stamp the commit, its time and whether the work tree had changes.
func Version() inspect.Build {
	b := inspect.Build{Version: "(unknown)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Version, b.GoVersion = info.Main.Version, info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteDir writes every section as <name>.csv and <name>.json, the whole report as report.json, and report.html.
// Files are written under a temporary name and renamed, so a reader never sees half a report.
func (r Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	files := map[string][]byte{}
	for _, s := range r.Sections() {
		c, err := sectionCSV(s)
		if err != nil {
			return err
		}
		files[s.Name+".csv"] = c
		if files[s.Name+".json"], err = json.MarshalIndent(nonNil(s.Data), "", "  "); err != nil {
			return fmt.Errorf("encode %s: %w", s.Name, err)
		}
	}
	var whole, page bytes.Buffer
	if err := r.WriteJSON(&whole); err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	files["report.json"] = whole.Bytes()
	if err := r.WriteHTML(&page); err != nil {
		return err
	}
	files["report.html"] = page.Bytes()
	for name, data := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

func sectionCSV(s Section) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(s.Columns)
	for _, row := range s.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cell(v, "")
		}
		_ = w.Write(cells)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("encode %s.csv: %w", s.Name, err)
	}
	return b.Bytes(), nil
}

// nonNil keeps an empty section an empty JSON array rather than null.
func nonNil(data any) any {
	if b, _ := json.Marshal(data); string(b) == "null" {
		return []any{}
	}
	return data
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

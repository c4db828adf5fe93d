package canonical

import "embed"

//go:embed schemas/*.json
var schemaFS embed.FS

// Schema returns the JSON Schema (draft 2020-12) of a whole event of type
// typ — envelope and data — or false for an unknown type.
func Schema(typ string) ([]byte, bool) {
	if _, ok := types[typ]; !ok {
		return nil, false
	}
	b, err := schemaFS.ReadFile("schemas/" + typ + ".json")
	return b, err == nil
}

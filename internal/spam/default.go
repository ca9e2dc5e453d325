package spam

import (
	_ "embed"
	"fmt"
	"sync"
)

// defaultModel is the built-in classifier, trained on every labelled set
// in testdata/spam, each folder one source: the YouTube Spam Collection
// (Alberto, Lochter and Almeida; CC BY 4.0), spam caught on a WordPress
// blog (WTFPL), Stack Exchange posts deleted as spam and questions and
// comments that were not (Stack Exchange contributors; CC BY-SA, which
// the model file, derived from them, is shared under too), and reader
// comments under Fox News articles (MIT). Training is deterministic, so
// this rebuilds it byte for byte, from the repository root:
//
//	go run ./cmd/parley spam train --group folder --out internal/spam/default.model \
//	    testdata/spam/youtube/Youtube0[1-4]-*.csv testdata/spam/wordpress/*.jsonl.gz \
//	    testdata/spam/stackexchange/*.jsonl.gz testdata/spam/foxnews/*.jsonl.gz
//
// TestDefaultModel_Reproducible checks that it does.
//
//go:embed default.model
var defaultModel []byte

var loadDefault = sync.OnceValues(func() (*Model, error) {
	m := new(Model)
	if err := m.UnmarshalBinary(defaultModel); err != nil {
		return nil, fmt.Errorf("built-in spam model: %w", err)
	}
	return m, nil
})

// Default returns the built-in model, shared by every site. It returns an
// error only if the binary was built with a broken model file.
func Default() (*Model, error) { return loadDefault() }

package spam

import (
	_ "embed"
	"fmt"
	"sync"
)

// defaultModel is the built-in classifier, trained on the four public
// files of the YouTube Spam Collection (Alberto, Lochter and Almeida;
// UCI Machine Learning Repository; CC BY 4.0). Training is deterministic,
// so this rebuilds it byte for byte, from the repository root:
//
//	go run ./cmd/parley spam train --out internal/spam/default.model \
//	    testdata/spam/youtube/Youtube01-Psy.csv \
//	    testdata/spam/youtube/Youtube02-KatyPerry.csv \
//	    testdata/spam/youtube/Youtube03-LMFAO.csv \
//	    testdata/spam/youtube/Youtube04-Eminem.csv
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

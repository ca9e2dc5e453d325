package spam

import (
	"context"
	"slices"
	"testing"
)

func TestSignals(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		in        Input
		wantCodes []string // each must be among the reasons
		notCodes  []string // none of these may be
		want      Action
		evidence  bool
	}{
		{"a reader with a website who liked the post",
			Input{AuthorName: "Jane Doe", Website: "https://janedoe.example/", Body: "Great post, thanks for sharing! I tried the second tip and it worked."},
			[]string{"website_new_domain", "flattery"}, []string{"name_keywords"}, Publish, true},
		{"keyword name, website deep in a forum profile, templated praise",
			Input{AuthorName: "cheap airline flights", Website: "http://forum.example/index.php?option=com_k2&view=itemlist&task=user&id=221977",
				Body: "I like the valuable info you provide in your articles. I will bookmark your blog and check again here regularly."},
			[]string{"signals_hold", "name_keywords", "website_profile", "flattery"}, nil, Hold, true},
		{"a category for a name",
			Input{AuthorName: "House & Home Improvement", Website: "http://milibrariesforthefuture.example/", Body: "Thanks a lot."},
			[]string{"name_keywords"}, nil, Publish, true},
		{"the name is a link", Input{AuthorName: "http://www.sciascia1919.example", Body: "Nice."}, []string{"name_link"}, nil, Publish, true},
		{"a sales keyword for a name and a sales domain", Input{AuthorName: "Car Insurance", Website: "http://carinsurance4u.example/", Body: "Hello"},
			[]string{"signals_hold", "name_keywords", "website_commercial"}, nil, Hold, true},
		{"phone number with support",
			Input{Body: "For Norton antivirus support call 1-800-555-0142, the helpline is open 24/7."},
			[]string{"phone_support"}, nil, Hold, true},
		{"a phone number alone", Input{Body: "The box office number is 555-123-4567, call before six."}, nil, []string{"phone_support"}, Publish, false},
		{"sales words", Input{Body: "Buy cheap viagra and cialis online, best casino bonus, payday loans"}, []string{"sales_words"}, nil, Publish, true},
		{"more links than text", Input{Body: "http://a.example/1 http://b.example/2 see"}, []string{"link_heavy"}, nil, Publish, true},
		{"reference links are not links here", Input{Body: "https://en.wikipedia.org/wiki/A https://www.bbc.co.uk/news/b see"}, nil, []string{"link_heavy"}, Publish, false},
		{"a shortener", Input{Body: "my new song http://bit.ly/xyz"}, []string{"link_shortener"}, nil, Publish, true},
		{"a website on the site's own origin", Input{Website: "https://blog.example/about", Origins: []string{"https://blog.example"}, Body: "Agreed."},
			nil, []string{"website_new_domain", "website_deep_link"}, Publish, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signals{Site: NewSiteModel(base)}
			v, err := s.Check(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, r := range v.Reasons {
				codes = append(codes, r.Code)
			}
			for _, c := range tt.wantCodes {
				if !slices.Contains(codes, c) {
					t.Errorf("reasons %q lack %q", codes, c)
				}
			}
			for _, c := range tt.notCodes {
				if slices.Contains(codes, c) {
					t.Errorf("reasons %q have %q", codes, c)
				}
			}
			if v.Action != tt.want || v.Evidence != tt.evidence || v.Layer != "signals" {
				t.Errorf("%v, evidence %v (%s); want %v, evidence %v", v.Action, v.Evidence, v.Reason(), tt.want, tt.evidence)
			}
		})
	}

	// A website the site's moderators approved before is not new.
	site := NewSiteModel(base)
	site.Learn(Input{Body: "Thanks, that helped.", Website: "https://janedoe.example/blog"}, false)
	v, _ := (&Signals{Site: site}).Check(context.Background(), &Input{Body: "Me again.", Website: "https://www.janedoe.example/"})
	if len(v.Reasons) != 0 {
		t.Errorf("a known website: %s", v.Reason())
	}
}

// TestSignals_Boost: strong marks lift a doubtful classifier score into
// the spam tier; weaker ones only confirm a near-certain one.
func TestSignals_Boost(t *testing.T) {
	v, _ := (&Signals{}).Check(context.Background(), &Input{Body: "Norton antivirus support number 1-800-555-0142, call the helpline"})
	if v.Boost < HoldSignals {
		t.Errorf("phone with support boosts %.1f", v.Boost)
	}
	v, _ = (&Signals{}).Check(context.Background(), &Input{Body: "http://a.example/1 http://b.example/2 see"})
	if v.Boost != 0 || !v.Evidence {
		t.Errorf("more links than text: boost %.1f, evidence %v", v.Boost, v.Evidence)
	}
}

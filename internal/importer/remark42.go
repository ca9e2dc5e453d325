package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"parley/internal/comment"
)

// remark42Reader reads a Remark42 backup (or /api/v1/admin/export): a
// stream of JSON objects, by convention one per line. The first is a
// metadata object {"version":1,"users":[…],"posts":[…]}; each following
// one is a comment. Whitespace between objects does not matter, a file
// without the metadata line (as the Remark42 docs' grep -v recipe for
// merging backups makes) is accepted, and a metadata object in the middle
// (two backups joined) is read as such.
//
// Pages: one record for each post the metadata lists (with read_only as
// Closed), and one the first time a comment names a URL not seen before.
// The set of URLs seen is kept in memory: one string per page.
type remark42Reader struct {
	j *jsonStream
	sticky
	queue []*Record
	seen  map[string]bool
}

func newRemark42(r io.Reader) Reader {
	return &remark42Reader{j: newJSONStream(r), seen: map[string]bool{}}
}

// remark42Value is either the metadata object or a comment
// (backend/app/store/comment.go in Remark42).
type remark42Value struct {
	// Metadata.
	Version *json.Number `json:"version"`
	Users   json.RawMessage
	Posts   []struct {
		URL      string `json:"url"`
		ReadOnly bool   `json:"read_only"`
	} `json:"posts"`

	// Comment.
	ID   flexString `json:"id"`
	PID  flexString `json:"pid"`
	Text string     `json:"text"`
	Orig string     `json:"orig"`
	User struct {
		Name    string `json:"name"`
		ID      string `json:"id"`
		Profile string `json:"profile"`
	} `json:"user"`
	Locator struct {
		Site string `json:"site"`
		URL  string `json:"url"`
	} `json:"locator"`
	Score  int    `json:"score"`
	Time   string `json:"time"`
	Delete bool   `json:"delete"`
	Title  string `json:"title"`
}

// Next implements Reader.
func (r *remark42Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for len(r.queue) == 0 {
		m, line, err := r.j.value("")
		if err != nil {
			return r.fail(err)
		}
		if len(m) == 0 || m[0] != '{' {
			return r.fail(&SyntaxError{Line: line, Msg: fmt.Sprintf("expected a comment object, found %s", describeRaw(m))})
		}
		var v remark42Value
		if err := unmarshal(m, line, &v); err != nil {
			return r.fail(err)
		}
		if v.Version != nil || v.Posts != nil || len(v.Users) > 0 && v.ID == "" {
			if err := r.meta(&v, line); err != nil {
				return r.fail(err)
			}
			continue
		}
		r.comment(&v, line)
	}
	rec := r.queue[0]
	r.queue = r.queue[1:]
	return rec, nil
}

func (r *remark42Reader) meta(v *remark42Value, line int) error {
	if v.Version != nil {
		if s := v.Version.String(); s != "0" && s != "1" {
			return &SyntaxError{Line: line, Msg: fmt.Sprintf("this is a Remark42 backup of version %s; only version 1 can be read", s)}
		}
	}
	for _, p := range v.Posts {
		if p.URL == "" || r.seen[p.URL] {
			continue
		}
		r.seen[p.URL] = true
		r.queue = append(r.queue, &Record{Kind: KindPage, PageID: p.URL, URL: p.URL, Closed: p.ReadOnly, Line: line})
	}
	return nil
}

func (r *remark42Reader) comment(v *remark42Value, line int) {
	c := &Record{
		Kind:       KindComment,
		Line:       line,
		PageID:     v.Locator.URL,
		ID:         string(v.ID),
		ParentID:   string(v.PID),
		Body:       v.Text,
		BodyFormat: FormatHTML,
		Markdown:   v.Orig,
		Likes:      v.Score,
		Type:       "comment",
		Status:     comment.StatusApproved,
		Author: comment.Author{
			Name:    v.User.Name,
			Website: v.User.Profile,
		},
	}
	// The user.ip field holds a hash of the address, not the address, so
	// it is not passed on as IP. Anonymous commenters get an id too.
	if id := v.User.ID; id != "" && !strings.HasPrefix(id, "anonymous_") {
		c.Author.Identity = "remark42:" + id
	}
	if v.Delete {
		c.Status = comment.StatusDeleted
	}
	if t, ok := parseLooseTime(v.Time); ok {
		c.Created = t
	} else if v.Time == "" {
		c.warn("the comment has no time")
	} else {
		c.warn("the comment's time %q cannot be read", v.Time)
	}
	if c.PageID == "" {
		c.warn("the comment has no locator URL")
	}
	if c.ID == "" {
		c.ID = syntheticID("remark42", c.PageID, v.Time, c.Author.Name, c.Body)
		c.warn("the comment has no id; it was given the id %s made from its content", c.ID)
	}
	if c.ParentID == c.ID {
		c.ParentID = ""
		c.warn("the comment names itself as its parent; it is taken as top level")
	}
	if c.PageID != "" && !r.seen[c.PageID] {
		r.seen[c.PageID] = true
		r.queue = append(r.queue, &Record{Kind: KindPage, PageID: c.PageID, URL: c.PageID, Title: v.Title, Line: line})
	}
	r.queue = append(r.queue, c)
}

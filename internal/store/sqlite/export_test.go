package sqlite

import (
	"context"
	"database/sql"
)

// PoolPragmas reads a pragma on n distinct connections of the writer
// (writer true) or read pool, all held at once, for tests of what every
// pooled connection is set to.
func PoolPragmas(ctx context.Context, s *Store, writer bool, n int, pragma string) ([]string, error) {
	db := s.r
	if writer {
		db = s.w
	}
	var out []string
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		var v string
		if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

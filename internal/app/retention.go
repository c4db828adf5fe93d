package app

import (
	"context"
	"time"
)

const (
	pruneEvery = 10 * time.Minute // how often raw positions past retention are deleted
	pruneChunk = 5000             // positions per DELETE, so the writer waits at most one chunk
)

// prunePositions deletes raw positions older than the retention period
// now and then every interval, in chunks, until ctx ends.
func (a *App) prunePositions(ctx context.Context, now func() time.Time, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		a.pruneOnce(ctx, now().Add(-a.cfg.Telemetry.Retention.D()))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pruneOnce deletes every position before cut, chunk by chunk.
func (a *App) pruneOnce(ctx context.Context, cut time.Time) int64 {
	var total int64
	for ctx.Err() == nil {
		n, err := a.store.PrunePositions(ctx, cut, pruneChunk)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("prune positions", "err", err)
			}
			break
		}
		total += n
		if n < pruneChunk {
			break
		}
	}
	if total > 0 {
		a.log.Info("pruned positions past retention", "deleted", total, "before", cut)
	}
	return total
}

package delivery

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivershared/baseservice"
	"github.com/riverqueue/river/rivershared/riverpilot"
	"github.com/riverqueue/river/rivertype"
)

// Waking the job producers after a commit.
//
// The engine inserts its jobs inside the store's transactions (InsertTx),
// so that a message and its fanout job, or a fanout page and its batch
// jobs, commit together. Without a listener (PostgreSQL through
// database/sql, and SQLite as the engine runs it, see SupportsListener)
// River wakes a queue's producer on a non-transactional Insert only, so a
// job inserted in a transaction waited for the queue's next poll, and a
// send waited for two (fanout, then the first batch). River hands the
// function it calls after a non-transactional insert to its pilot
// (PilotInitParams.NotifyNonTxJobInsert); the engine's driver supplies a
// pilot that keeps it, and the engine calls it for a queue once the
// transaction that put jobs there has committed. Polling is then only the
// fallback for jobs this process did not insert (scheduled jobs coming
// due, other nodes' jobs), and a single node polls its own queues rarely
// (Options.PollInterval).
//
// The pilot is River's StandardPilot in every other respect. The pilot
// API is marked unstable by River, so an upgrade of River must keep
// TestWakeAfterCommit green.

// wakeDriver is the job driver with a pilot that can wake producers.
type wakeDriver struct {
	riverdriver.Driver[*sql.Tx]
	pilot *wakePilot
	// local: only this process inserts jobs (a single node), so its own
	// wakes are all the notification it needs.
	local bool
}

func newWakeDriver(d riverdriver.Driver[*sql.Tx], local bool) *wakeDriver {
	return &wakeDriver{Driver: d, pilot: &wakePilot{}, local: local}
}

// SupportsListener and SupportsListenNotify are false on a single node.
// River's SQLite driver emulates LISTEN/NOTIFY with a table: every insert
// transaction also writes a notification row, and a listener polls the
// table every 50 ms, so each hop of a send (fanout job, then batch job)
// waited up to 50 ms. Without a listener River works its queues by
// polling and by the wakes this driver's pilot makes, which reach the
// producers as soon as the jobs are committed. With several nodes the
// driver's own answer stands (with PostgreSQL's real LISTEN/NOTIFY the
// wakes are not needed, and River does not call them).
func (d *wakeDriver) SupportsListener() bool { return !d.local && d.Driver.SupportsListener() }

func (d *wakeDriver) SupportsListenNotify() bool {
	return !d.local && d.Driver.SupportsListenNotify()
}

// PluginInit and PluginPilot make wakeDriver a River driver plugin, which
// is how a client takes a pilot other than the standard one.
func (d *wakeDriver) PluginInit(*baseservice.Archetype) {}

func (d *wakeDriver) PluginPilot() riverpilot.Pilot { return d.pilot }

type wakePilot struct {
	riverpilot.StandardPilot
	notify func(ctx context.Context, res []*rivertype.JobInsertResult)
}

// PilotInit keeps the client's wake-after-insert function.
func (p *wakePilot) PilotInit(a *baseservice.Archetype, params *riverpilot.PilotInitParams) {
	p.StandardPilot.PilotInit(a, params)
	p.notify = params.NotifyNonTxJobInsert
}

// wake asks this process's producers of the queues to look for jobs now
// (debounced by River's FetchCooldown). Call it only after the
// transaction that inserted the jobs has committed: a fetch before the
// commit would not see them.
func (p *wakePilot) wake(ctx context.Context, queues ...string) {
	if p.notify == nil || len(queues) == 0 {
		return
	}
	res := make([]*rivertype.JobInsertResult, len(queues))
	for i, q := range queues {
		res[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{Queue: q}}
	}
	p.notify(ctx, res)
}

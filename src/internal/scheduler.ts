import * as Scheduler from "effect/Scheduler"

/** As Effect's MixedScheduler: microtasks, then one macrotask turn after this many in a row. */
const MAX_MICROTASKS_BEFORE_TIMER = 2048

/**
 * One run queue for every fiber, drained in a single microtask. Effect's default
 * scheduler keeps a runner per fiber (since 3.20, to keep AsyncLocalStorage
 * contexts apart), so each fiber resumed by a readiness batch costs a runner and
 * a promise of its own; here the whole batch is resumed by one drain, which runs
 * inside the poller's callback, before Node returns to the event loop.
 */
const runner = new Scheduler.SchedulerRunner((depth, drain) => {
  if (depth >= MAX_MICROTASKS_BEFORE_TIMER) {
    setTimeout(() => drain(0), 0)
  } else {
    Promise.resolve(depth + 1).then(drain)
  }
})

export const scheduler: Scheduler.Scheduler = Scheduler.make((task, priority) => runner.scheduleTask(task, priority))

import * as Scheduler from "effect/Scheduler"

/**
 * Effect's MixedScheduler (microtasks, one macrotask turn after 2048 in a row)
 * asked without a fiber, so that every task goes to its one shared runner.
 * With a fiber it keeps a runner, and a microtask, per fiber (since effect
 * 3.20, to keep AsyncLocalStorage contexts apart): a readiness batch that
 * resumes a thousand fibers would pay a thousand promises; this way one drain
 * resumes them all, inside the poller's callback.
 */
const mixed = new Scheduler.MixedScheduler(2048)

export const scheduler: Scheduler.Scheduler = Scheduler.make(
  (task, priority) => mixed.scheduleTask(task, priority),
  (fiber) => mixed.shouldYield(fiber)
)
